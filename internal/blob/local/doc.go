// Package local is a blob.Store on the local file system that encrypts every
// value at rest, so a copied disk or backup leaks nothing readable.
//
// Format of one file (all integers big-endian):
//
//	header  56 bytes: "PRLYBLOB" | version 1 | 3 zero bytes | chunk size (uint32)
//	        | key id (8 bytes) | salt (32 random bytes)
//	chunks  ceil(size/chunk) sealed chunks (at least one), each chunk-size
//	        plaintext bytes (the last may be shorter, even empty) + 16-byte tag
//
// Each file is sealed with AES-256-GCM under its own key, HKDF-SHA256(master
// key, salt, "parley blob v1"), so nonces never repeat across files; chunk i
// uses the nonce 0x00000000 || uint64(i). The additional data of every
// chunk is the header, the blob key (so a file moved to another key does not
// decrypt) and a final-chunk flag (so dropping trailing chunks, or appending
// any, fails authentication). Reading a range decrypts only the chunks that
// cover it. The key id (the first 8 bytes of HMAC-SHA256(master,
// "parley blob key id")) lets a wrong master key fail with a clear error.
//
// Writes go to a temporary file in <dir>/blobs/.tmp that is fsynced and then
// renamed into place, so a crash mid-upload leaves nothing visible; stale
// temporary files are removed by Open.
//
// Concurrency: a *Store is safe for concurrent use; Put on the same key from
// several goroutines leaves one complete value (the last rename wins).
package local
