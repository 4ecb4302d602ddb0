package pushertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/parleyhq/parley/internal/pusher"
)

// DefaultTimeout bounds every wait unless WithTimeout says otherwise.
// Passing runs never wait this long; it only decides how soon a broken
// server fails the test.
const DefaultTimeout = 10 * time.Second

// ConnectQuery is the query Connect sends, as pusher-js 8 sends it.
const ConnectQuery = "?protocol=7&client=js&version=8.4.0&flash=false"

// Option changes how Dial and Connect set up a client.
type Option func(*Client)

// WithName labels the client in failure messages (default: the URL's
// path).
func WithName(name string) Option { return func(c *Client) { c.Name = name } }

// WithTimeout bounds each wait of this client (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// Client is one raw protocol-7 connection. See the package doc for which
// methods consume frames and which only look.
type Client struct {
	// SocketID is set by Connect from pusher:connection_established.
	SocketID string
	// Name labels the client in failure messages.
	Name string

	t       testing.TB
	timeout time.Duration
	conn    net.Conn
	r       io.Reader // the handshake's buffered reader, then conn
	wmu     sync.Mutex
	done    chan struct{} // closed when the read loop ends

	mu       sync.Mutex
	frames   []Frame       // every text frame received, in order
	cursor   int           // the first frame not consumed by Expect/Await
	changed  chan struct{} // closed and replaced on every new frame and at the end
	ended    bool
	closeErr error    // why the read loop ended; wsutil.ClosedError for a close frame
	log      []string // C→S and S→C lines for failure reports
}

// Dial opens a WebSocket to url (ws://host/path?query) and starts reading.
// It waits for nothing: use it for handshakes the server should refuse.
// The connection is closed when the test ends.
func Dial(t testing.TB, url string, opts ...Option) *Client {
	t.Helper()
	c := &Client{t: t, Name: defaultName(url), timeout: DefaultTimeout, done: make(chan struct{}), changed: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("%s: dial %s: %v", c.Name, url, err)
	}
	c.conn, c.r = conn, conn
	if br != nil {
		// The server's first frames may have arrived with the handshake.
		c.r = br
	}
	go c.readLoop(br)
	t.Cleanup(func() {
		c.Close()
		// The read loop cannot fail the test itself (it may outlive it).
		for _, f := range c.Frames() {
			if f.Event == Unparsable {
				t.Errorf("%s: server sent a frame that is not a JSON object: %q", c.Name, f.Raw)
			}
		}
	})
	return c
}

// defaultName is url without scheme, host and query: "/app/key".
func defaultName(url string) string {
	_, rest, _ := strings.Cut(url, "://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[i:]
	}
	path, _, _ := strings.Cut(rest, "?")
	return path
}

// Connect dials baseURL (ws://host:port) at /app/{key} and waits for
// pusher:connection_established, checking its data as pusher-js would
// and setting SocketID.
func Connect(t testing.TB, baseURL, key string, opts ...Option) *Client {
	t.Helper()
	c := Dial(t, baseURL+"/app/"+key+ConnectQuery, opts...)
	f := c.Expect(pusher.EventConnectionEstablished)
	var est struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if !f.IsStringData() {
		t.Errorf("%s: connection_established data must be a JSON string, got %s", c.Name, f.Raw)
	}
	if err := f.Decode(&est); err != nil || est.SocketID == "" {
		t.Fatalf("%s: connection_established data without socket_id (%v): %s", c.Name, err, f.Raw)
	}
	if est.ActivityTimeout <= 0 {
		t.Errorf("%s: activity_timeout missing or 0 (pusher-js refuses the handshake): %s", c.Name, f.Raw)
	}
	c.SocketID = est.SocketID
	return c
}

// rw reads from the handshake reader and writes under the write lock, so
// the pongs and close replies ReadServerData sends never interleave with
// Send.
type rw struct{ c *Client }

func (x rw) Read(p []byte) (int, error) { return x.c.r.Read(p) }
func (x rw) Write(p []byte) (int, error) {
	x.c.wmu.Lock()
	defer x.c.wmu.Unlock()
	return x.c.conn.Write(p)
}

func (c *Client) readLoop(br *bufio.Reader) {
	defer close(c.done)
	for {
		// ReadServerData answers pings and returns a ClosedError on close.
		data, op, err := wsutil.ReadServerData(rw{c})
		if err != nil {
			c.mu.Lock()
			c.closeErr = err
			c.ended = true
			c.logf("closed: %v", err)
			close(c.changed)
			c.mu.Unlock()
			if br != nil {
				ws.PutReader(br)
			}
			return
		}
		c.mu.Lock()
		if op != ws.OpText {
			c.logf("S→C non-text frame op=%v %q", op, data)
			c.mu.Unlock()
			continue
		}
		f := Frame{Raw: string(data)}
		if json.Unmarshal(data, &f) != nil {
			f.Event = Unparsable
		}
		c.logf("S→C %s", data)
		c.frames = append(c.frames, f)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
}

// logf appends to the frame log; c.mu must be held.
func (c *Client) logf(format string, args ...any) {
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

// Transcript returns the frame log, one indented line per frame.
func (c *Client) Transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return "  " + strings.Join(c.log, "\n  ")
}

// fatalf fails the test with the frame log appended.
func (c *Client) fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("%s: %s\ntranscript:\n%s", c.Name, fmt.Sprintf(format, args...), c.Transcript())
}

// Send writes the JSON encoding of v as one text frame.
func (c *Client) Send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.SendRaw(b)
}

// SendRaw writes b as one text frame, whatever it holds.
func (c *Client) SendRaw(b []byte) {
	c.t.Helper()
	c.mu.Lock()
	c.logf("C→S %s", b)
	c.mu.Unlock()
	var buf bytes.Buffer
	if err := wsutil.WriteClientText(&buf, b); err != nil {
		c.t.Fatal(err)
	}
	c.wmu.Lock()
	_, err := c.conn.Write(buf.Bytes())
	c.wmu.Unlock()
	if err != nil {
		c.fatalf("write: %v", err)
	}
}

// Subscribe sends pusher:subscribe with auth (sent even when empty) and,
// when channelData is not nil, channel_data. It waits for nothing.
func (c *Client) Subscribe(channel, auth string, channelData *string) {
	c.t.Helper()
	d := map[string]string{"channel": channel, "auth": auth}
	if channelData != nil {
		d["channel_data"] = *channelData
	}
	c.Send(map[string]any{"event": pusher.EventSubscribe, "data": d})
}

// MustSubscribe subscribes (channelData "" sends none) and waits for
// subscription_succeeded on channel, consuming the frames before it. A
// subscription_error for channel fails the test; one that answered an
// earlier subscribe does not count.
func (c *Client) MustSubscribe(channel, auth, channelData string) Frame {
	c.t.Helper()
	var cd *string
	if channelData != "" {
		cd = &channelData
	}
	mark := c.Mark()
	c.Subscribe(channel, auth, cd)
	f, _ := c.until("subscription_succeeded on "+channel, func(i int, f Frame) bool {
		c.t.Helper()
		if i < mark || f.Channel != channel {
			return false
		}
		if f.Event == pusher.EventSubscriptionError {
			c.fatalf("subscription to %s refused: %s", channel, f.Raw)
		}
		return f.Event == pusher.EventSubscriptionSucceeded
	})
	return f
}

// Ping sends pusher:ping and waits for pusher:pong, skipping other frames:
// proof that the socket is alive and everything sent before was handled.
func (c *Client) Ping() {
	c.t.Helper()
	c.SendRaw([]byte(`{"event":"pusher:ping","data":{}}`))
	c.Await(pusher.EventPong, IsEventName(pusher.EventPong))
}

// Close closes the connection and waits for the read loop. It is
// idempotent; the test's cleanup calls it too.
func (c *Client) Close() {
	_ = c.conn.Close()
	<-c.done
}
