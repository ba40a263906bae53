package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/joho/godotenv"

	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
	"github.com/oktawatch/oktawatch/internal/replay"
)

// replayCommand replays a System Log export, or the org's System Log, through
// the burst detector and prints the alerts it would have produced.
func replayCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	_ = godotenv.Load() // the same .env as the service, for the default settings
	req, err := replay.ParseArgs(args, replay.Defaults{
		Threshold: envOr("OKTAWATCH_THRESHOLD", "5"),
		Window:    envOr("OKTAWATCH_WINDOW", "5m"),
		Cooldown:  envOr("OKTAWATCH_COOLDOWN", "15m"),
	}, stderr)
	if err != nil {
		return err
	}

	var events []json.RawMessage
	var source string
	if req.FromOkta {
		events, source, err = fetchReplayEvents(ctx, req.Since, stderr)
	} else {
		events, source, err = replay.ReadFile(req, stdin)
	}
	if err != nil {
		return err
	}
	return replay.Execute(ctx, req, events, source, stdout, stderr)
}

// fetchReplayEvents reads the removals of the last since from the org's
// System Log, showing a spinner while it reads when stderr is a terminal.
func fetchReplayEvents(ctx context.Context, since time.Duration, stderr io.Writer) ([]json.RawMessage, string, error) {
	cfg, err := config.LoadOktaAPI()
	if err != nil {
		return nil, "", err
	}
	log, err := newLogger("warn")
	if err != nil {
		return nil, "", err
	}
	client, err := oktaapi.NewClient(cfg.OrgURL, cfg.APIToken.Reveal(), &http.Client{Timeout: 30 * time.Second}, log.Named("okta"))
	if err != nil {
		return nil, "", err
	}

	var spinner *replay.Progress
	if replay.IsTerminal(stderr) {
		spinner = replay.NewProgress(stderr, -1, "reading the System Log")
	}
	now := time.Now()
	events, err := replay.FetchEvents(ctx, client, now.Add(-since), now, replay.FetchOptions{
		OnPage: spinner.Add,
		OnRateLimitWait: func(wait time.Duration) {
			fmt.Fprintf(stderr, "waiting %s for the Okta rate limit to reset\n", wait.Round(time.Second))
		},
	})
	spinner.Finish()
	if err != nil {
		return nil, "", err
	}
	return events, client.OrgURL(), nil
}
