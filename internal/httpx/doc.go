// Package httpx is what the messenger's HTTP handlers (internal/api and
// internal/attachapi) share, so that each concern has one place: errors as
// JSON {"error":{"code","message"}}, the one table from error code to HTTP
// status, request ids, an access log without PHI (route pattern, status,
// size, duration, request id, user id; never bodies, paths with ids or
// query strings), panic recovery, JSON 404/405 answers, and bearer
// authentication into a messenger.Actor.
//
// Imports go one way: httpx uses messenger and auth; api and attachapi use
// httpx; nothing here knows either of them.
//
// Concurrency: an *Edge is immutable after New and safe for concurrent
// use; WriteJSON and RequestID are pure.
package httpx
