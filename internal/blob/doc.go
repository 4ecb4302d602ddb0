// Package blob is the seam between Parley and the bytes of attachments.
//
// A Store keeps opaque byte strings under server-generated keys. It knows
// nothing of threads, users or content types: the metadata row (name, type,
// checksum, owner) lives in the messenger store, and only the key links the
// two. Implementations live in sub-packages named after their technology
// (blob/local encrypts files on disk, blob/s3 talks to any S3-compatible
// service) and all pass the contract suite in internal/blobtest.
//
// Concurrency: every Store method is safe to call from many goroutines at
// once, on the same key too. A Put is atomic: a concurrent Open sees either
// the previous value or the new one, never a prefix, and a Put that fails
// (reader error, size mismatch, cancelled context, crash) leaves the previous
// value, or nothing, behind. A reader returned by Open belongs to one
// goroutine. The helpers in this package (ValidKey, NewReadSeeker) hold no
// shared state.
package blob
