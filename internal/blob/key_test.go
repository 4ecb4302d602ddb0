package blob

import (
	"path"
	"strings"
	"testing"
)

func FuzzValidKey(f *testing.F) {
	for _, s := range []string{"att/ab/0123", "../x", "a//b", ".hidden", "a/.tmp/x", "a\\b", "a/b.t160", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidKey(key) != nil {
			return
		}
		// An accepted key is a clean relative path that stays inside the
		// store's directory on every OS.
		if path.Clean(key) != key || path.IsAbs(key) || strings.Contains(key, "..") && strings.Contains("/"+key+"/", "/../") ||
			strings.ContainsAny(key, "\\:\x00") || len(key) > MaxKeyLen {
			t.Fatalf("ValidKey accepted %q", key)
		}
		for _, seg := range strings.Split(key, "/") {
			if seg == "" || seg[0] == '.' {
				t.Fatalf("ValidKey accepted segment %q in %q", seg, key)
			}
		}
	})
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "att/ab/0123abcdef", "att/ab/0123.t160", "A-b_c.d"} {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "/a", "a/", "a//b", "../a", "a/..", "a/./b", ".a", "a\\b", "a:b", "a b", strings.Repeat("a", MaxKeyLen+1)} {
		if ValidKey(k) == nil {
			t.Errorf("ValidKey(%q) accepted", k)
		}
	}
}
