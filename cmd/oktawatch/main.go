// Command oktawatch receives Okta Event Hook deliveries, detects bursts of
// group-membership removals in Redis, and alerts Slack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: oktawatch [command] [flags]

commands:
  serve        run the service (the default)
  simulate     post a realistic Okta delivery with N removals to a running service
  healthcheck  exit 0 when the local service answers /livez (for container health checks)
  okta         register, inspect or remove the Okta Event Hook: okta register|status|unregister
  replay       run the burst detector over a System Log export and print the alerts it would have sent

Settings come from OKTAWATCH_* environment variables and a .env file; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oktawatch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	command := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		command = "help"
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
		command, args = args[0], args[1:]
	}
	switch command {
	case "serve":
		return serve(ctx, args, stderr)
	case "simulate":
		return simulateCommand(ctx, args, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, stderr)
	case "okta":
		return oktaCommand(ctx, args, stdout, stderr)
	case "replay":
		return replayCommand(ctx, args, os.Stdin, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", command)
	}
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}
