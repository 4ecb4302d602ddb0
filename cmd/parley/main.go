// Command parley is a self-hosted real-time messaging server for
// patient–provider chat: a Pusher Channels–compatible engine with a
// messenger on top.
//
//	parley serve [flags]     run the server (parley serve -h lists every setting)
//	parley token [flags]     print a development bearer token
//	parley version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Tens of thousands of idle sockets are mostly small long-lived objects;
	// a lower GC target keeps the heap near them (1.6 against 1.9 KiB per
	// idle socket at 19 000, docs/websocket-stack.md) for a little CPU.
	// GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: parley serve|token|version [flags]")
		return errors.New("no command")
	}
	switch args[0] {
	case "serve":
		m, err := NewMain(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		if err := m.Open(ctx); err != nil {
			return err
		}
		<-ctx.Done()
		return m.Close()
	case "token":
		return runToken(args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	default:
		return fmt.Errorf("unknown command %q: use serve, token or version", args[0])
	}
}
