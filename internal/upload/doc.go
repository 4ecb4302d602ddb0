// Package upload turns one untrusted file upload into a stored, checked
// blob plus the metadata the messenger keeps for it.
//
// Nothing the client says about the file is trusted. The content type is
// sniffed from the bytes (Sniff, then a look inside zip and OLE containers
// once the file is stored) and checked against an allowlist; executables
// never pass. The file name is rewritten by SanitizeName and its extension
// forced to match the sniffed type. The size limit is enforced while
// streaming, the SHA-256 is computed on the way, and images get thumbnails
// decoded only after their dimensions passed a decompression-bomb check.
// Any failure deletes what was stored, so a rejected upload leaves nothing.
//
// Concurrency: a *Processor is safe for concurrent use; image decoding is
// bounded by Config.MaxConcurrentDecodes. Sniff and SanitizeName are pure
// functions.
package upload
