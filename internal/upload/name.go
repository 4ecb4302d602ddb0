package upload

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes bounds a sanitised file name, extension included; it fits
// every common file system's 255-byte limit with room for a suffix.
const MaxNameBytes = 120

// fallbackName is used when nothing of the client's name survives.
const fallbackName = "attachment"

// SanitizeName turns a client-supplied file name into one that is safe to
// store, show and save on any operating system, with an extension that
// matches contentType (the sniffed type). It keeps only the last path
// element (splitting on both '/' and '\'), removes control, format
// (bidirectional overrides, zero-width) and Windows-reserved characters,
// drops leading dots and trailing dots and spaces, renames Windows device
// names (CON, NUL, COM1...), limits the length to MaxNameBytes at a rune
// boundary keeping the extension, and falls back to "attachment".
// SanitizeName(SanitizeName(n, t), t) == SanitizeName(n, t).
func SanitizeName(name, contentType string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = norm.NFC.String(name)
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
			continue // format characters (U+202E...), private use, surrogates: drop
		case unicode.IsControl(r) || unicode.IsSpace(r):
			space = true // tabs, newlines and odd spaces become one plain space
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	name = b.String()

	base, ext := splitExt(name)
	ext = fitExtension(ext, contentType)
	base = strings.TrimLeft(base, ". ")
	base = strings.TrimRight(base, ". ")
	if base == "" {
		base = fallbackName
	}
	if isReservedWindowsName(base) {
		base = "_" + base
	}
	if len(base)+len(ext) > MaxNameBytes {
		base = truncateUTF8(base, MaxNameBytes-len(ext))
		base = strings.TrimRight(base, ". ")
		if base == "" {
			base = fallbackName
		}
	}
	return base + ext
}

// splitExt splits at the last dot when what follows looks like an
// extension (1 to 10 letters or digits); otherwise there is none.
func splitExt(name string) (base, ext string) {
	e := path.Ext(name)
	if len(e) < 2 || len(e) > 11 {
		return name, ""
	}
	for _, r := range e[1:] {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return name, ""
		}
	}
	return name[:len(name)-len(e)], e
}

// fitExtension keeps the client's extension (lower-cased) when it is one
// of the sniffed type's, and otherwise replaces it with the type's first.
func fitExtension(ext, contentType string) string {
	allowed := extensions[contentType]
	if len(allowed) == 0 {
		return ".bin"
	}
	ext = strings.ToLower(ext)
	for _, a := range allowed {
		if ext == a {
			return ext
		}
	}
	return allowed[0]
}

// isReservedWindowsName reports device names that Windows opens as devices
// whatever the extension ("nul.txt" too), compared before the first dot.
func isReservedWindowsName(base string) bool {
	stem, _, _ := strings.Cut(base, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && stem[3] >= '0' && stem[3] <= '9' {
		return true
	}
	if (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) && (stem[3:] == "¹" || stem[3:] == "²" || stem[3:] == "³") {
		return true
	}
	return false
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
