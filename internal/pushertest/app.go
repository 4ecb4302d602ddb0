package pushertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// App holds one app's credentials and signs for it as an app server
// would, with the helpers of internal/pusher.
type App struct {
	ID, Key, Secret string
}

// ChannelAuth signs a subscription of socketID to a private or presence
// channel.
func (a App) ChannelAuth(socketID, channel, channelData string) string {
	return pusher.ChannelAuth(a.Key, a.Secret, socketID, channel, channelData)
}

// UserAuth signs a pusher:signin of socketID with userData.
func (a App) UserAuth(socketID, userData string) string {
	return pusher.UserAuth(a.Key, a.Secret, socketID, userData)
}

// Signin sends pusher:signin for userData, signed for c, and waits for
// pusher:signin_success, skipping other frames; it returns that frame. A
// pusher:error first fails the test.
func (a App) Signin(c *Client, userData string) Frame {
	c.t.Helper()
	c.Send(map[string]any{"event": pusher.EventSignin, "data": map[string]string{
		"user_data": userData, "auth": a.UserAuth(c.SocketID, userData)}})
	return c.Await(pusher.EventSigninSuccess, func(f Frame) bool {
		c.t.Helper()
		if f.Event == pusher.EventError {
			c.fatalf("signin refused: %s", f.Raw)
		}
		return f.Event == pusher.EventSigninSuccess
	})
}

// SignedURL returns baseURL+path with the query the server SDKs would sign.
func (a App) SignedURL(baseURL, method, path string, params pusher.Query, body []byte) string {
	return baseURL + path + "?" + pusher.SignRequest(method, path, params, body, a.Key, a.Secret, time.Now())
}

var httpClient = &http.Client{Timeout: DefaultTimeout}

// Do sends a signed HTTP API request to baseURL (http://host:port) and
// returns the status and body. It is safe from any goroutine.
func (a App) Do(ctx context.Context, baseURL, method, path string, params pusher.Query, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.SignedURL(baseURL, method, path, params, body), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// Request is Do that fails the test on a transport error.
func (a App) Request(t testing.TB, baseURL, method, path string, params pusher.Query, body []byte) (int, []byte) {
	t.Helper()
	status, b, err := a.Do(context.Background(), baseURL, method, path, params, body)
	if err != nil {
		t.Fatalf("on %s: %v", baseURL, err)
	}
	return status, b
}
