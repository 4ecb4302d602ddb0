// Package pusherapi serves the Pusher Channels HTTP API under /apps/{app_id}/:
// publishing events (single and batch), channel and presence-user queries
// and terminating a user's connections. Requests are authenticated exactly
// as the official server SDKs sign them (package pusher does the HMAC work)
// and answered with the JSON bodies the SDKs parse.
//
// The package holds no state of its own: everything it answers comes from
// the Engine it is given (*hub.Hub in production). The handler returned by
// New is safe for concurrent use; Engine implementations must be too.
//
// Mount the handler at the root of the URL space (mux.Handle("/apps/", h)),
// never behind http.StripPrefix: the signature covers the path as sent.
package pusherapi
