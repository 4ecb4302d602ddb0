package upload_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/upload"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("é", 200) + ".pdf"
	cases := []struct{ in, ctype, want string }{
		{"../../etc/passwd", upload.TypeText, "passwd.txt"},
		{`..\..\boot.ini`, upload.TypeText, "boot.txt"},
		{"\u202Egnp.exe", upload.TypePNG, "gnp.png"},
		{"photo\u202E3pm.jpg", upload.TypeJPEG, "photo3pm.jpg"},
		{"invoice.pdf.exe", upload.TypePDF, "invoice.pdf.pdf"},
		{"CON", upload.TypeText, "_CON.txt"},
		{"nul.txt", upload.TypeText, "_nul.txt"},
		{"com1.tar.pdf", upload.TypePDF, "_com1.tar.pdf"},
		{".htaccess", upload.TypeText, "attachment.txt"},
		{"...", upload.TypePNG, "attachment.png"},
		{"", upload.TypePDF, "attachment.pdf"},
		{"  report  final .PDF", upload.TypePDF, "report final.pdf"},
		{"a<b>c:d|e?f*g\"h.pdf", upload.TypePDF, "a_b_c_d_e_f_g_h.pdf"},
		{"line\nbreak\ttab\x00nul\x7f.txt", upload.TypeText, "line break tab nul.txt"},
		{"zero\u200bwidth\ufeff.png", upload.TypePNG, "zerowidth.png"},
		{"Re\u0301sume\u0301.pdf", upload.TypePDF, "Résumé.pdf"}, // NFC
		{"bad\xff\xfeutf8.pdf", upload.TypePDF, "badutf8.pdf"},
		{"IMG.JPEG", upload.TypeJPEG, "IMG.jpeg"},
		{"archive.tar.gz", upload.TypePDF, "archive.tar.pdf"},
		{"no extension", upload.TypeDOCX, "no extension.docx"},
		{"version 1.2 notes", upload.TypeText, "version 1.2 notes.txt"},
		{long, upload.TypePDF, strings.Repeat("é", (upload.MaxNameBytes-4)/2) + ".pdf"},
	}
	for _, c := range cases {
		got := upload.SanitizeName(c.in, c.ctype)
		if got != c.want {
			t.Errorf("SanitizeName(%q, %s) = %q, want %q", c.in, c.ctype, got, c.want)
		}
		if again := upload.SanitizeName(got, c.ctype); again != got {
			t.Errorf("not idempotent: %q -> %q", got, again)
		}
	}
}
