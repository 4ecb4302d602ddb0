package conformance

import (
	"regexp"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/pushertest"
)

// eventTimeout bounds every wait for a frame. Passing runs never wait this
// long; it only decides how soon a broken server fails the test.
const eventTimeout = 10 * time.Second

var socketIDPattern = regexp.MustCompile(`^\d+\.\d+$`)

// dial connects to /app/{key} on s and waits for
// pusher:connection_established. The client speaks raw protocol-7 frames
// so that failures show exactly what was sent and received.
func dial(t *testing.T, s *server, name, key string) *pushertest.Client {
	t.Helper()
	return pushertest.Connect(t, "ws://"+s.Addr, key, pushertest.WithName(name), pushertest.WithTimeout(eventTimeout))
}

// dialRaw opens a WebSocket at path on s and waits for nothing.
func dialRaw(t *testing.T, s *server, name, path string) *pushertest.Client {
	t.Helper()
	return pushertest.Dial(t, "ws://"+s.Addr+path, pushertest.WithName(name), pushertest.WithTimeout(eventTimeout))
}
