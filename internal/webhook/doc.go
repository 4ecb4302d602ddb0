// Package webhook delivers Pusher webhooks: it is the hub's Observer and
// POSTs {"time_ms","events"} bodies signed with the app secret to every
// receiver an app configures, filtered by event type.
//
// Delivery never slows the engine: Observe only takes a short lock and
// does non-blocking queue sends (events that do not fit are dropped and
// counted). Each (app, receiver URL) has its own worker goroutine, so a
// slow or dead receiver delays only itself. channel_vacated and
// member_removed are held for Options.HoldFor (3 s) and cancelled,
// together with the channel_occupied or member_added that undoes them, if
// the channel or member comes back in time — a quick reconnect sends
// nothing, as on Pusher. Failed POSTs are retried with exponential
// backoff and jitter for Options.RetryFor (5 min), then logged (names and
// channels only: client_event data may carry PHI) and counted.
//
// Every method of Sender is safe for concurrent use.
package webhook
