package attachapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package on goroutines left running: the janitor, the
// messenger's relay and the servers must all stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		// Keep-alive connections of http.DefaultClient and minio-go's
		// transport outlive the test servers by design.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}
