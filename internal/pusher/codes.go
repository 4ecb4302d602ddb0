package pusher

// Close and error codes of protocol 7 (pusher-websockets-protocol.md,
// "Error Codes"). pusher-js decides from the range whether to reconnect:
// 4000–4099 never, 4100–4199 after a back-off, 4200–4299 at once.
const (
	CodeSSLOnly            = 4000
	CodeAppNotFound        = 4001
	CodeAppDisabled        = 4003
	CodeOverQuota          = 4004
	CodePathNotFound       = 4005
	CodeInvalidVersion     = 4006
	CodeUnsupportedVersion = 4007
	CodeNoProtocol         = 4008
	CodeUnauthorized       = 4009
	CodeOverCapacity       = 4100
	CodeReconnect          = 4200
	CodePongTimeout        = 4201
	CodeInactive           = 4202
	CodeClientEventRate    = 4301
	CodeWatchlistLimit     = 4302
)

// Error is a protocol error: a code with its message. Its value is what the
// server sends in pusher:error and, for close codes, in the close frame.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

var (
	ErrAppNotFound         = &Error{CodeAppNotFound, "Application does not exist"}
	ErrAppDisabled         = &Error{CodeAppDisabled, "Application disabled"}
	ErrOverQuota           = &Error{CodeOverQuota, "Application is over connection quota"}
	ErrPathNotFound        = &Error{CodePathNotFound, "Path not found"}
	ErrInvalidVersion      = &Error{CodeInvalidVersion, "Invalid version string format"}
	ErrUnsupportedVersion  = &Error{CodeUnsupportedVersion, "Unsupported protocol version"}
	ErrNoProtocol          = &Error{CodeNoProtocol, "No protocol version supplied"}
	ErrOverCapacity        = &Error{CodeOverCapacity, "Over capacity"}
	ErrSlowConsumer        = &Error{CodeOverCapacity, "Send queue overflowed: client too slow"}
	ErrShuttingDown        = &Error{CodeReconnect, "Server shutting down, reconnect"}
	ErrPongTimeout         = &Error{CodePongTimeout, "Pong reply not received"}
	ErrClientEventRate     = &Error{CodeClientEventRate, "Client event rejected due to rate limit"}
	ErrWatchlistLimit      = &Error{CodeWatchlistLimit, "Watchlist limit exceeded. Only the first 100 user IDs are accepted."}
	ErrTerminated          = &Error{CodeUnauthorized, "You got disconnected by the app."}
	ErrNotAuthorizedInTime = &Error{CodeUnauthorized, "Connection not authorized within timeout."}
)
