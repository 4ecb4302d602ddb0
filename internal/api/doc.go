// Package api is the messenger's HTTP edge: the REST API under /api/v1/
// (threads, messages, read markers, typing, sync, me, the OpenAPI
// document) and the Pusher channel-authorization endpoints under
// /api/pusher/ (auth and user-auth). Every request except the OpenAPI
// document carries a bearer JWT verified by package auth.
//
// Errors are JSON {"error":{"code","message"}} with the status taken from
// the one table in package httpx, which also gives the request id, the
// access log (route pattern, status, duration, request id and user id
// only), panic recovery and bearer authentication. Bodies are bounded,
// strictly decoded and never logged.
//
// Concurrency: an *API is an http.Handler safe for concurrent use. Close
// ends pending long-polls, stops typing timers (sending their typing-stop)
// and waits for them; it is idempotent.
package api
