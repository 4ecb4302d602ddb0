// Package config turns defaults, an optional YAML file, PARLEY_*
// environment variables and command-line flags (in that order of
// precedence, last wins) into one validated Config. It does no I/O beyond
// reading the file it is given; Load is safe to call concurrently.
package config
