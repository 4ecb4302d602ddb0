// Package messenger is Parley's messaging domain: threads between patients
// and providers, messages with per-thread gapless sequence numbers,
// idempotent sends, read markers, a per-user change feed for catch-up, a
// transactional outbox relayed to the real-time engine, and offline webhook
// notifications.
//
// It imports only the standard library and declares the interfaces it needs:
// Store (implemented by package sqlstore), Publisher (the real-time engine)
// and Presence (who is online).
//
// Concurrency: all Service methods are safe for concurrent use. Open and
// Close are meant to be called once each from the owning goroutine; Close is
// idempotent. Errors are *Error values with a code (ENOTFOUND, EINVALID, …);
// callers translate them once with ErrorCode and ErrorMessage.
package messenger
