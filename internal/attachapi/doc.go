// Package attachapi is the HTTP edge and the lifecycle janitor of
// attachments: POST /api/v1/attachments stores one upload (through
// internal/upload into a blob.Store) and records it as the caller's pending
// attachment; GET /api/v1/attachments/{id} streams it, with Range, to the
// uploader or to participants of the thread it was sent in, and to nobody
// else (404). Attaching is the messenger's job: a message sent with
// attachment ids links them in its own transaction.
//
// Rows and bytes: an upload's row is inserted only after every blob it owns
// (file, thumbnails, thumbnail manifest) is stored, so a crash mid-upload
// leaves at most unreferenced blobs, which the Janitor removes once they are
// older than OrphanAge. The Janitor deletes a row before its blobs, for the
// same reason.
//
// Concurrency: a Handler is safe for concurrent use by many requests. A
// Janitor's Sweep methods may run concurrently with Open's background loop;
// Open and Close are meant for the owning goroutine, and Close is
// idempotent and waits for the loop to stop.
package attachapi
