package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
)

const oktaUsage = `usage: oktawatch okta register --hook-url https://HOST/okta/events [--name NAME] [--force]
       oktawatch okta status [--name NAME]
       oktawatch okta unregister [--name NAME]

Needs OKTAWATCH_OKTA_ORG_URL and OKTAWATCH_OKTA_API_TOKEN; register also sends
OKTAWATCH_OKTA_AUTH_HEADER and OKTAWATCH_OKTA_AUTH_SECRET to Okta.
`

func oktaCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, oktaUsage)
		return errors.New("missing okta subcommand")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("okta "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", oktaapi.DefaultHookName, "name of the Event Hook in Okta")
	hookURL := fs.String("hook-url", "", "public https URL of the service's hook endpoint, ending in /okta/events (register)")
	force := fs.Bool("force", false, "rewrite the hook even when it looks up to date, for example after changing the secret (register)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	cfg, err := config.LoadOktaAPI()
	if err != nil {
		return err
	}
	log, err := newLogger("warn")
	if err != nil {
		return err
	}
	client, err := oktaapi.NewClient(cfg.OrgURL, cfg.APIToken.Reveal(), &http.Client{Timeout: 30 * time.Second}, log.Named("okta"))
	if err != nil {
		return err
	}

	switch sub {
	case "register":
		if cfg.AuthSecret == "" {
			return errors.New("OKTAWATCH_OKTA_AUTH_SECRET: missing; register sends it to Okta as the hook's auth header value")
		}
		return oktaapi.Register(ctx, client, oktaapi.RegisterOptions{
			HookName: *name, HookURL: *hookURL, AuthHeader: cfg.AuthHeader,
			AuthSecret: oktaapi.Secret(cfg.AuthSecret.Reveal()), Force: *force,
		}, stdout)
	case "status":
		return oktaapi.Status(ctx, client, *name, stdout)
	case "unregister":
		return oktaapi.Unregister(ctx, client, *name, stdout)
	default:
		fmt.Fprint(stderr, oktaUsage)
		return fmt.Errorf("unknown okta subcommand %q", sub)
	}
}
