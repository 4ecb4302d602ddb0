package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/parleyhq/parley/internal/httpx"
)

// FuzzSendDecode feeds arbitrary bodies to the send endpoint's decoder:
// it never panics, every failure is a 4xx *httpx.Error, and whatever it accepts
// survives a round trip unchanged (so nothing was silently altered).
func FuzzSendDecode(f *testing.F) {
	for _, s := range []string{
		`{"clientId":"a","content":"b"}`,
		`{"clientId":"a","content":"b","attachments":["x","y"],"onBehalfOf":"doc"}`,
		`{"clientId":1}`, `{"clientId":"a"} {}`, `[`, `null`, `{"a":1}`, "", "\xff",
		`{"content":"\ud800"}`, `{"clientId":"a","clientId":"b"}`, `{"ClientID":"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/threads/x/messages", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		var req sendRequest
		err := decodeJSON(w, r, 1024, &req, false)
		if err != nil {
			var e *httpx.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *httpx.Error", err)
			}
			if s, _ := httpx.Status(e.Code); s < 400 || s >= 500 {
				t.Fatalf("code %q maps to %d", e.Code, s)
			}
			return
		}
		again, _ := json.Marshal(req)
		var back sendRequest
		r2 := httptest.NewRequest("POST", "/", bytes.NewReader(again))
		if err := decodeJSON(httptest.NewRecorder(), r2, 1<<20, &back, false); err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(req, back) {
			t.Fatalf("round trip changed %+v to %+v", req, back)
		}
	})
}

// FuzzAuthForm: the channel-auth body parser and checks never panic and
// answer only 200, 400, 403 or 413.
func FuzzAuthForm(f *testing.F) {
	e := newFuzzAPI(f)
	for _, s := range []string{"socket_id=1.2&channel_name=private-user-pat", "socket_id=1.2%3Ax&channel_name=a", "%zz", "&&&=", "channel_name=presence-user-pat&socket_id=3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/pusher/auth", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Bearer "+e.token)
		w := httptest.NewRecorder()
		e.api.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}
