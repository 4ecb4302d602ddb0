// Package s3 is a blob.Store on any S3-compatible service (AWS S3, MinIO,
// versitygw, Ceph RGW, R2...) through minio-go.
//
// Values are stored as objects named Prefix+key with the content type
// application/octet-stream: the bytes are untrusted, so the type a browser
// sees is decided by Parley's HTTP layer (or, for presigned links, forced
// through response-content-type). Uploads stream: a value of unknown size is
// sent as a multipart upload in PartSize pieces, so memory per Put is one
// part; a failed multipart upload is aborted, so nothing becomes visible.
// Server-side encryption (SSE-S3) can be requested per object.
//
// Concurrency: a *Store is safe for concurrent use; S3 makes each Put
// atomic and the last completed Put on a key wins.
package s3
