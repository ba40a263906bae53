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
	if len(args) == 0 || isHelpFlag(args[0]) || args[0] == "help" {
		fmt.Fprint(stdout, oktaUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	if sub != "register" && sub != "status" && sub != "unregister" {
		fmt.Fprint(stderr, oktaUsage)
		return fmt.Errorf("unknown okta subcommand %q; use register, status or unregister", sub)
	}

	fs := flag.NewFlagSet("okta "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", oktaapi.DefaultHookName, "name of the Event Hook in Okta")
	var hookURL *string
	var force *bool
	if sub == "register" {
		hookURL = fs.String("hook-url", "", "public https URL of the service's hook endpoint, ending in /okta/events")
		force = fs.Bool("force", false, "rewrite the hook even when it looks up to date; Okta never returns the secret, so use it after changing OKTAWATCH_OKTA_AUTH_SECRET")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}

	client, cfg, err := newOktaClient()
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
	default:
		return oktaapi.Unregister(ctx, client, *name, stdout)
	}
}

func newOktaClient() (*oktaapi.Client, config.OktaAPI, error) {
	cfg, err := config.LoadOktaAPI()
	if err != nil {
		return nil, cfg, err
	}
	log, err := newLogger("warn")
	if err != nil {
		return nil, cfg, err
	}
	client, err := oktaapi.NewClient(cfg.OrgURL, cfg.APIToken.Reveal(), &http.Client{Timeout: 30 * time.Second}, log.Named("okta"))
	return client, cfg, err
}
