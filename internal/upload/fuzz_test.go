package upload

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", `..\..\boot.ini`, "\u202Egnp.exe", "CON", "nul.txt", ".htaccess",
		"a<b>.pdf", strings.Repeat("é", 100) + ".docx", "x\x00y", "COM¹.txt", " . . ", "Re\u0301sume\u0301"} {
		f.Add(s, 0)
	}
	types := append([]string{TypeUnknown}, DefaultAllowed...)
	f.Fuzz(func(t *testing.T, name string, ti int) {
		ct := types[(ti%len(types)+len(types))%len(types)]
		got := SanitizeName(name, ct)
		if !utf8.ValidString(got) || len(got) == 0 || len(got) > MaxNameBytes {
			t.Fatalf("%q -> %q: invalid or too long", name, got)
		}
		if strings.ContainsAny(got, `/\<>:"|?*`) || strings.HasPrefix(got, ".") || strings.HasPrefix(got, " ") ||
			strings.HasSuffix(got, ".") || strings.HasSuffix(got, " ") {
			t.Fatalf("%q -> %q: unsafe character or edge", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("%q -> %q: control or format rune %U", name, got, r)
			}
		}
		base, ext := splitExt(got)
		if ext != fitExtension(ext, ct) || base == "" {
			t.Fatalf("%q -> %q: extension does not match %s", name, got, ct)
		}
		if isReservedWindowsName(base) {
			t.Fatalf("%q -> %q: reserved Windows name", name, got)
		}
		if again := SanitizeName(got, ct); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", name, got, again)
		}
	})
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{"\x7fELF", "MZ\x90", "#!/bin/sh", "%PDF-1.4", "\x89PNG\r\n\x1a\n", "\xff\xd8\xff\xe0",
		"GIF89a", "RIFF\x00\x00\x00\x00WEBPVP8 ", "\x00\x00\x00\x18ftypheic", "PK\x03\x04", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
		"<html>", "plain text ✓", "\xef\xbb\xbf#!x", "\xfe\xff\x00a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		got := Sniff(head)
		if got != Sniff(bytes.Clone(head)) {
			t.Fatal("not deterministic")
		}
		if isExecutable(head) != (got == TypeExecutable) {
			t.Fatalf("executable %v but sniffed %s", isExecutable(head), got)
		}
		if got == TypeText && (bytes.IndexByte(head[:min(len(head), SniffLen)], 0) >= 0) {
			t.Fatalf("NUL bytes sniffed as text")
		}
		var v textValidator
		v.Write(head)
		if got == TypeText && !v.ok() {
			t.Fatal("invalid UTF-8 sniffed as text")
		}
	})
}

func FuzzTextValidator(f *testing.F) {
	f.Add([]byte("héllo ✓ 𝄞"), uint8(3))
	f.Add([]byte("a\x00b"), uint8(1))
	f.Add([]byte("\xe2\x82"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		// Validation must not depend on how the stream is cut into writes.
		var v textValidator
		step := int(split%7) + 1
		for i := 0; i < len(b); i += step {
			v.Write(b[i:min(len(b), i+step)])
		}
		want := utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
		if v.complete() != want {
			t.Fatalf("complete() = %v for %q in steps of %d, want %v", v.complete(), b, step, want)
		}
	})
}

func FuzzClassifyContainer(f *testing.F) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("[Content_Types].xml")
	w.Write([]byte("wordprocessingml.document.main+xml"))
	zw.Close()
	f.Add(zb.Bytes(), true)
	oleHead := make([]byte, 1024)
	copy(oleHead, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
	oleHead[30] = 9
	f.Add(oleHead, false)
	f.Add([]byte("PK\x05\x06"+strings.Repeat("\x00", 18)), true)
	allowed := map[string]bool{typeZip: true, typeOLE: true, typeUnsupportedOffice: true}
	for _, t := range append(zipTypes, oleTypes...) {
		allowed[t] = true
	}
	f.Fuzz(func(t *testing.T, b []byte, asZip bool) {
		prov := typeOLE
		if asZip {
			prov = typeZip
		}
		got := classifyContainer(bytes.NewReader(b), int64(len(b)), prov)
		if !allowed[got] {
			t.Fatalf("unexpected type %q", got)
		}
		if asZip && containsAny(got, oleTypes) || !asZip && containsAny(got, zipTypes) {
			t.Fatalf("%s container classified as %s", prov, got)
		}
	})
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\xff\xd8\xff\xdb\x00\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

func containsAny(s string, list []string) bool {
	for _, l := range list {
		if s == l {
			return true
		}
	}
	return false
}

func TestJPEGOrientationSeed(t *testing.T) {
	seed := []byte("\xff\xd8\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	if o := jpegOrientation(seed); o != 6 {
		t.Fatalf("orientation = %d, want 6", o)
	}
}
