package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/parleyhq/parley/internal/auth"
)

// runToken prints a bearer token signed with PARLEY_JWT_SECRET, for
// development and demos.
func runToken(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "user id (required)")
	role := fs.String("role", "patient", "patient, provider or service")
	name := fs.String("name", "", "display name")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	secret := fs.String("jwt-secret", getenv("PARLEY_JWT_SECRET"), "HS256 secret (env PARLEY_JWT_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: --sub is required")
	}
	if *secret == "" {
		return errors.New("token: set PARLEY_JWT_SECRET or --jwt-secret")
	}
	tok, err := auth.Issue([]byte(*secret), *sub, auth.Role(*role), *name, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
