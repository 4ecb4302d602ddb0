// Package web serves Parley's browser chat client, built from the sources
// in this directory (npm --prefix web ci && npm --prefix web run build) into
// dist/ and embedded into the binary.
//
// When dist/ holds no build (only the committed dist/.keep), Handler serves
// a placeholder page that says how to build the client, so `go build` works
// before the JavaScript build has run.
//
// Handler returns a value that is safe for concurrent use: the embedded
// files are read-only.
package web
