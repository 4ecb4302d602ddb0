package pusher

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " backslash \ slash /`, "<html>&amp;", "tab\tnl\ncr\r\x00\x1f", "ünï 日本 🎉", "\u2028\u2029", "bad \xff utf8"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, got, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Fatalf("round trip of %q = %q", s, back)
		}
	}
	// < > & pass through unescaped, unlike encoding/json's default.
	if got := string(AppendString(nil, "<a&b>")); got != `"<a&b>"` {
		t.Fatalf("got %s", got)
	}
}

func TestEventFrameShapes(t *testing.T) {
	cases := map[string]string{
		string(EventFrame("my-event", "my-channel", `{"hello":"world"}`, "")):         `{"event":"my-event","channel":"my-channel","data":"{\"hello\":\"world\"}"}`,
		string(EventFrame("client-typing", "presence-room", `{"on":true}`, "1")):      `{"event":"client-typing","channel":"presence-room","data":"{\"on\":true}","user_id":"1"}`,
		string(ErrorFrame(4001, "Application does not exist")):                        `{"event":"pusher:error","data":{"code":4001,"message":"Application does not exist"}}`,
		string(ErrorFrame(0, "bad")):                                                  `{"event":"pusher:error","data":{"code":null,"message":"bad"}}`,
		string(SubscriptionError("private-x", "AuthError", "Invalid signature", 401)): `{"event":"pusher:subscription_error","channel":"private-x","data":{"type":"AuthError","error":"Invalid signature","status":401}}`,
		string(SigninSuccess(`{"id":"12345"}`)):                                       `{"event":"pusher:signin_success","data":{"user_data":"{\"id\":\"12345\"}"}}`,
		string(ConnectionEstablished("123.456", 120)):                                 `{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":120}"}`,
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestDataString(t *testing.T) {
	cases := map[string]string{
		`"already a string"`:     "already a string",
		`{"a": 1,  "b": [1, 2]}`: `{"a":1,"b":[1,2]}`,
		``:                       "",
		`null`:                   "",
		`42`:                     "42",
	}
	for in, want := range cases {
		got, err := DataString(json.RawMessage(in))
		if err != nil || got != want {
			t.Errorf("DataString(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := DataString(json.RawMessage(`{"a":`)); err == nil {
		t.Error("truncated object accepted")
	}
}

func TestDecodeDataAcceptsObjectAndString(t *testing.T) {
	var a, b SubscribeData
	if err := DecodeData(json.RawMessage(`{"channel":"c","auth":"k:s","channel_data":"{\"user_id\":\"1\"}"}`), &a); err != nil {
		t.Fatal(err)
	}
	if err := DecodeData(json.RawMessage(`"{\"channel\":\"c\",\"auth\":\"k:s\",\"channel_data\":\"{\\\"user_id\\\":\\\"1\\\"}\"}"`), &b); err != nil {
		t.Fatal(err)
	}
	if a.Channel != "c" || a.ChannelData == nil || *a.ChannelData != `{"user_id":"1"}` || b.Channel != a.Channel || *b.ChannelData != *a.ChannelData {
		t.Fatalf("decoded %+v and %+v", a, b)
	}
	var none SubscribeData
	_ = DecodeData(json.RawMessage(`{"channel":"c"}`), &none)
	if none.ChannelData != nil {
		t.Fatal("absent channel_data must stay nil (signed-in presence depends on it)")
	}
}

func TestClassify(t *testing.T) {
	cases := map[string]Channel{
		"my-channel":                    {Kind: Public},
		"cache-x":                       {Kind: Public, Cache: true},
		"private-x":                     {Kind: Private},
		"private-cache-x":               {Kind: Private, Cache: true},
		"private-encrypted-x":           {Kind: Encrypted},
		"private-encrypted-cache-x":     {Kind: Encrypted, Cache: true},
		"presence-x":                    {Kind: Presence},
		"presence-cache-x":              {Kind: Presence, Cache: true},
		"#server-to-user-42":            {Kind: ServerToUser},
		"public-private-not-a-prefix":   {Kind: Public},
		"x-presence-is-not-anchored-in": {Kind: Public},
	}
	for name, want := range cases {
		if got := Classify(name); got != want {
			t.Errorf("Classify(%q) = %+v, want %+v", name, got, want)
		}
	}
}

func TestValidateChannelName(t *testing.T) {
	ok := []string{"a", "private-thread-1", "A-Za-z0-9_-=@,.;", "#server-to-user-42", strings.Repeat("x", 164)}
	bad := []string{"", "has space", "ümlaut", "#other", "#server-to-user-", "slash/", strings.Repeat("x", 165)}
	for _, n := range ok {
		if err := ValidateChannelName(n, 164); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateChannelName(n, 164); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestSocketIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewSocketID()
		if !ValidSocketID(id) {
			t.Fatalf("generated invalid id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	for _, s := range []string{"", "1", "1.", ".1", "1.2.3", "a.1", "1.2\n", "1234.1234:evil"} {
		if ValidSocketID(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestCheckProtocol(t *testing.T) {
	if err := CheckProtocol("7", true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v       string
		present bool
		want    *Error
	}{{"", false, ErrNoProtocol}, {"x", true, ErrInvalidVersion}, {"3", true, ErrUnsupportedVersion}, {"8", true, ErrUnsupportedVersion}} {
		if got := CheckProtocol(c.v, c.present); got != c.want {
			t.Errorf("CheckProtocol(%q) = %v, want %v", c.v, got, c.want)
		}
	}
}

// The docs' worked examples (protocol reference §13.3, §13.6).
func TestChannelAndUserAuthVectors(t *testing.T) {
	const key, secret = "278d425bdf160c739803", "7ad3773142a6692b25b8"
	if got := ChannelAuth(key, secret, "1234.1234", "private-foobar", ""); got != key+":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4" {
		t.Fatalf("private auth %s", got)
	}
	if got := UserAuth(key, secret, "1234.1234", `{"id":"12345"}`); got != key+":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba" {
		t.Fatalf("user auth %s", got)
	}
	cd := `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`
	if got := ChannelAuth(key, secret, "1234.1234", "presence-foobar", cd); got != key+":31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80" {
		t.Fatalf("presence auth %s", got)
	}
	if !VerifyChannelAuth(key, secret, "1234.1234", "presence-foobar", cd, key+":31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80") {
		t.Fatal("verify failed")
	}
	if VerifyChannelAuth(key, secret, "1234.1234", "presence-foobar", cd+" ", key+":31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80") {
		t.Fatal("channel_data must be signed byte for byte")
	}
	if VerifyChannelAuth(key, secret, "1234.1234", "private-foobar", "", "otherkey:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4") {
		t.Fatal("another app's key accepted")
	}
}

func FuzzParseInbound(f *testing.F) {
	for _, s := range []string{`{"event":"pusher:subscribe","data":{"channel":"x"}}`, `{"event":"client-a","channel":"private-x","data":"{}"}`, `{}`, `[]`, `{"event":""}`, `{"event":"e","data":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := ParseInbound(b)
		if err != nil {
			return
		}
		if in.Event == "" {
			t.Fatal("accepted a frame without an event")
		}
		var sd SubscribeData
		_ = DecodeData(in.Data, &sd)
		if s, err := DataString(in.Data); err == nil && !utf8.ValidString(s) && utf8.Valid(in.Data) {
			t.Fatalf("valid UTF-8 input produced invalid data string %q", s)
		}
	})
}

func FuzzValidateChannelName(f *testing.F) {
	for _, s := range []string{"private-thread-1", "#server-to-user-1", "#x", "a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateChannelName(name, 200) != nil {
			return
		}
		if len(name) > 200 || name == "" {
			t.Fatalf("accepted %q", name)
		}
		// An accepted name survives being written into a frame and read back.
		var back struct {
			Channel string `json:"channel"`
		}
		if err := json.Unmarshal(EventFrame("e", name, "", ""), &back); err != nil || back.Channel != name {
			t.Fatalf("%q does not round-trip: %v", name, err)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff", "\u2028", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		if back != strings.ToValidUTF8(s, "\ufffd") && utf8.ValidString(s) {
			t.Fatalf("%q came back as %q", s, back)
		}
	})
}

func BenchmarkEventFrame(b *testing.B) {
	data := `{"id":"m1","threadId":"t1","seq":42,"senderId":"u1","content":"Hello, how are you feeling today?"}`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = EventFrame("new-message", "private-thread-1", data, "")
	}
}

func BenchmarkParseInbound(b *testing.B) {
	msg := []byte(`{"event":"client-typing-start","channel":"private-thread-1","data":{"userId":"u1"}}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = ParseInbound(msg)
	}
}
