// Package blobtest is the contract suite every blob.Store implementation
// must pass, plus shared benchmarks and a helper that starts a real
// S3-compatible server (versitygw) on loopback for tests.
//
// Run and Bench are called from each implementation's tests. S3Server may
// be called from any test that needs S3 (the HTTP end-to-end tests too).
// All helpers are safe to use from parallel tests.
package blobtest
