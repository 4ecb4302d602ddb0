package attachapi

import (
	"mime"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzContentDisposition: whatever the stored name, the header is one
// token of safe characters that decodes back to the name, and Go's own
// parser reads the same name from it.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"a.pdf", "Résumé ü.pdf", "x\"; filename=evil.exe", "a\r\nSet-Cookie: x", "%41", "日本語.png", "a b", ""} {
		f.Add(s, "application/pdf")
	}
	f.Add("p.png", "image/png")
	f.Fuzz(func(t *testing.T, name, ctype string) {
		v := contentDisposition(ctype, name)
		kind, rest, ok := strings.Cut(v, "; filename*=UTF-8''")
		if !ok || (kind != "inline" && kind != "attachment") {
			t.Fatalf("shape: %q", v)
		}
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte("\"';,\\/()<>@:[]?={}*", c) >= 0 {
				t.Fatalf("unsafe byte %q in %q", c, v)
			}
		}
		got, err := url.PathUnescape(rest)
		if err != nil || got != name {
			t.Fatalf("decodes to %q (%v), want %q", got, err, name)
		}
		if utf8.ValidString(name) && name != "" {
			_, params, err := mime.ParseMediaType(v)
			if err != nil || params["filename"] != name {
				t.Fatalf("mime.ParseMediaType(%q) = %q, %v", v, params["filename"], err)
			}
		}
	})
}

// FuzzBaseKey: every blob of an upload maps to its row's key, and a key
// never maps outside its own directory.
func FuzzBaseKey(f *testing.F) {
	for _, s := range []string{"att/ab/0123", "att/ab/0123.t160", "att/ab/0123.meta", "a.b/c", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		b := baseKey(key)
		if !strings.HasPrefix(key, b) || strings.Contains(b[strings.LastIndexByte(b, '/')+1:], ".") {
			t.Fatalf("baseKey(%q) = %q", key, b)
		}
		if baseKey(b) != b || baseKey(b+".t160") != b || baseKey(manifestKey(b)) != b {
			t.Fatalf("not stable: %q", b)
		}
	})
}
