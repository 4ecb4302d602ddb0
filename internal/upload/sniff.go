package upload

import (
	"bytes"
	"net/http"
	"unicode/utf8"
)

// SniffLen is how many leading bytes Sniff looks at.
const SniffLen = 4096

// Sniff classifies a file by its first bytes (up to SniffLen; fewer for a
// short file). Executable formats are recognised first, so no other magic
// can launder them. Zip and OLE files come back as provisional container
// types that Process settles by reading the stored file; plain text is
// accepted here only if the head is valid UTF-8 without NULs (Process checks
// the rest while streaming).
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if isExecutable(head) {
		return TypeExecutable
	}
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return TypePDF
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return TypeJPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return TypeGIF
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return TypeWebP
	case isHEIC(head):
		return TypeHEIC
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return typeZip
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return typeOLE
	}
	detected := http.DetectContentType(head)
	if detected == "text/plain; charset=utf-8" {
		if isText(head) {
			return TypeText
		}
		return TypeUnknown
	}
	if i := bytes.IndexByte([]byte(detected), ';'); i >= 0 && detected[:i] == TypeText {
		return detected // UTF-16 and friends: reported with charset, so not allowlisted
	}
	return detected
}

// isExecutable recognises programs and scripts that an operating system
// would run directly.
func isExecutable(h []byte) bool {
	prefixes := [][]byte{
		[]byte("\x7fELF"),
		[]byte("MZ"),                 // DOS/PE (.exe, .dll, .scr)
		{0xFE, 0xED, 0xFA, 0xCE},     // Mach-O 32
		{0xFE, 0xED, 0xFA, 0xCF},     // Mach-O 64
		{0xCE, 0xFA, 0xED, 0xFE},     // Mach-O 32, little-endian
		{0xCF, 0xFA, 0xED, 0xFE},     // Mach-O 64, little-endian
		{0xCA, 0xFE, 0xBA, 0xBE},     // Mach-O fat binary / Java class
		[]byte("\x00asm"),            // WebAssembly
		[]byte("#!"),                 // shebang script
		{0xEF, 0xBB, 0xBF, '#', '!'}, // shebang behind a UTF-8 BOM
	}
	for _, p := range prefixes {
		if bytes.HasPrefix(h, p) {
			return true
		}
	}
	return false
}

// isHEIC recognises an ISO base media file whose major brand is HEIF.
func isHEIC(h []byte) bool {
	if len(h) < 12 || string(h[4:8]) != "ftyp" {
		return false
	}
	switch string(h[8:12]) {
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
		return true
	}
	return false
}

// isText reports whether head is UTF-8 text without NULs. A rune cut by
// the end of head is fine: the head is a prefix.
func isText(head []byte) bool {
	var v textValidator
	v.Write(head)
	return v.ok()
}

// textValidator checks a stream for valid UTF-8 without NUL bytes.
type textValidator struct {
	carry [utf8.UTFMax]byte
	n     int // bytes in carry
	bad   bool
}

func (v *textValidator) Write(p []byte) (int, error) {
	total := len(p)
	if v.bad {
		return total, nil
	}
	if v.n > 0 {
		// Complete the rune the previous write cut.
		need := min(utf8.UTFMax-v.n, len(p))
		buf := append(v.carry[:v.n:v.n], p[:need]...)
		if !utf8.FullRune(buf) {
			v.n = copy(v.carry[:], buf)
			return total, nil
		}
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError && size == 1 {
			v.bad = true
			return total, nil
		}
		p = p[size-v.n:]
		v.n = 0
	}
	for len(p) > 0 {
		c := p[0]
		if c == 0 {
			v.bad = true
			return total, nil
		}
		if c < utf8.RuneSelf {
			p = p[1:]
			continue
		}
		if !utf8.FullRune(p) {
			v.n = copy(v.carry[:], p)
			return total, nil
		}
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			v.bad = true
			return total, nil
		}
		p = p[size:]
	}
	return total, nil
}

// ok reports whether everything seen so far is valid (a trailing partial
// rune is allowed; complete checks it).
func (v *textValidator) ok() bool { return !v.bad }

// complete reports whether the whole stream was valid, partial rune included.
func (v *textValidator) complete() bool { return !v.bad && v.n == 0 }
