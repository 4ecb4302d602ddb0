// Package docs embeds the API description so the server can serve it at
// GET /api/v1/openapi.yaml. The bytes are read-only; safe for concurrent use.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml (OpenAPI 3.1).
//
//go:embed openapi.yaml
var OpenAPI []byte
