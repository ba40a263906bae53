package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/joho/godotenv"

	"github.com/oktawatch/oktawatch/internal/simulate"
)

func simulateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_ = godotenv.Load() // the same .env as the service, when there is one

	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", defaultHookURL(), "hook URL of the running service (default from OKTAWATCH_LISTEN_ADDR)")
	groupName := fs.String("group", "Finance-Approvers", "name of the simulated group")
	groupID := fs.String("group-id", "00gSIMULATEDGROUP001", "Okta id of the simulated group")
	count := fs.Int("count", 5, "number of removals in the delivery")
	spacing := fs.Duration("spacing", time.Second, "time between two removals' published times")
	header := fs.String("auth-header", envOr("OKTAWATCH_OKTA_AUTH_HEADER", "Authorization"), "auth header name, from OKTAWATCH_OKTA_AUTH_HEADER when set")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: oktawatch simulate [flags]\n\nPosts an Okta-shaped delivery of group.user_membership.remove events to a running service,\nwith the secret from OKTAWATCH_OKTA_AUTH_SECRET (the environment or .env).\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := os.Getenv("OKTAWATCH_OKTA_AUTH_SECRET")
	if secret == "" {
		return errors.New("OKTAWATCH_OKTA_AUTH_SECRET is not set; set it to the secret the service uses (make run sets a development one)")
	}
	if *count < 1 || *count > 10000 {
		return fmt.Errorf("-count must be between 1 and 10000, got %d", *count)
	}

	body, err := simulate.Delivery(simulate.Options{
		GroupID: *groupID, GroupName: *groupName, Count: *count,
		Published: time.Now().UTC().Add(-time.Duration(*count) * *spacing), Spacing: *spacing,
		ActorLogin: "simulated.admin@example.com",
	})
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if err := simulate.Post(ctx, client, *url, *header, secret, body); err != nil {
		return fmt.Errorf("%w (is the service running at %s? start it with make run)", err, *url)
	}
	fmt.Fprintf(stdout, "posted %d removals from group %q (%s) to %s\n", *count, *groupName, *groupID, *url)
	return nil
}

// defaultHookURL returns the hook URL of a service on this machine listening
// on OKTAWATCH_LISTEN_ADDR.
func defaultHookURL() string {
	host, port, err := net.SplitHostPort(envOr("OKTAWATCH_LISTEN_ADDR", ":8080"))
	if err != nil {
		return "http://127.0.0.1:8080/okta/events"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/okta/events"
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
