package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blobtest"
	"github.com/parleyhq/parley/internal/upload"
)

func readBlob(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAcceptedTypes(t *testing.T) {
	cases := []struct {
		name, client, wantType, wantName string
		data                             []byte
	}{
		{"png", "rash.png", upload.TypePNG, "rash.png", pngBytes(t, gradient(40, 30))},
		{"jpeg named .JPEG", "IMG_0001.JPEG", upload.TypeJPEG, "IMG_0001.jpeg", jpegBytes(t, gradient(40, 30))},
		{"gif", "anim.gif", upload.TypeGIF, "anim.gif", gifBytes(t, 10, 10)},
		{"pdf", "labs.pdf", upload.TypePDF, "labs.pdf", []byte("%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n")},
		{"text", "notes.txt", upload.TypeText, "notes.txt", []byte("Blood pressure 120/80 — fine ✓\n")},
		{"csv keeps its extension", "vitals.csv", upload.TypeText, "vitals.csv", []byte("date,bp\n2024-01-01,120/80\n")},
		{"docx", "letter.docx", upload.TypeDOCX, "letter.docx",
			ooxml(t, "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml")},
		{"xlsx named .zip", "sheet.zip", upload.TypeXLSX, "sheet.xlsx",
			ooxml(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xl/workbook.xml")},
		{"pptx", "deck.pptx", upload.TypePPTX, "deck.pptx",
			ooxml(t, "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", "ppt/presentation.xml")},
		{"odt", "brief.odt", upload.TypeODT, "brief.odt",
			zipWith(t, [2]string{"mimetype", upload.TypeODT}, [2]string{"content.xml", "<x/>"})},
		{"doc by class id", "old.doc", upload.TypeDOC, "old.doc", ole(wordClass, "WordDocument")},
		{"xls by stream name", "old.bin", upload.TypeXLS, "old.xls", ole([16]byte{}, "Workbook")},
		{"heic", "IMG_2.HEIC", upload.TypeHEIC, "IMG_2.heic", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 100)...)},
	}
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			s := newStore(t)
			p := newProcessor(t, s, upload.Config{})
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					a, err := p.Process(context.Background(), bytes.NewReader(c.data), c.client)
					if err != nil {
						t.Fatalf("Process: %v", err)
					}
					sum := sha256.Sum256(c.data)
					if a.ContentType != c.wantType || a.Name != c.wantName || a.Size != int64(len(c.data)) || a.SHA256 != hex.EncodeToString(sum[:]) {
						t.Fatalf("got %+v; want type %s name %s size %d", a, c.wantType, c.wantName, len(c.data))
					}
					if got := readBlob(t, s, a.Key); !bytes.Equal(got, c.data) {
						t.Fatal("stored bytes differ from the upload")
					}
				})
			}
		})
	}
}

func TestRejectedTypesLeaveNothing(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 200)...)
	longText := strings.Repeat("harmless text line\n", 400) // past the sniffed head
	cases := []struct {
		name, client string
		data         []byte
	}{
		{"ELF renamed .png", "cat.png", elf},
		{"PE renamed .pdf", "invoice.pdf", append([]byte("MZ\x90\x00"), make([]byte, 300)...)},
		{"Mach-O renamed .jpg", "a.jpg", append([]byte{0xCF, 0xFA, 0xED, 0xFE}, make([]byte, 64)...)},
		{"shebang renamed .txt", "notes.txt", []byte("#!/bin/sh\nrm -rf /\n")},
		{"HTML named .pdf", "report.pdf", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")},
		{"SVG named .png", "x.png", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"jar named .docx", "a.docx", zipWith(t, [2]string{"META-INF/MANIFEST.MF", "Main-Class: X\n"}, [2]string{"X.class", "\xca\xfe\xba\xbe"})},
		{"macro-enabled docm named .docx", "m.docx",
			ooxml(t, "application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml")},
		{"msi named .doc", "setup.doc", ole(msiClass, "SummaryInformation")},
		{"legacy word with macros", "m.doc", ole(wordClass, "WordDocument", "Macros")},
		{"text with a NUL past the head", "log.txt", []byte(longText + "\x00" + longText)},
		{"text with invalid UTF-8 past the head", "log.txt", []byte(longText + "\xff\xfe" + longText)},
		{"text cut inside a rune", "t.txt", []byte(longText + "\xe2\x82")},
		{"random bytes", "data.bin", blobtest.Bytes(1, 5000)},
	}
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			s := newStore(t)
			p := newProcessor(t, s, upload.Config{})
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					a, err := p.Process(context.Background(), bytes.NewReader(c.data), c.client)
					if !errors.Is(err, upload.ErrTypeNotAllowed) {
						t.Fatalf("Process = %+v, %v; want ErrTypeNotAllowed", a, err)
					}
					if keys := storedKeys(t, s); len(keys) != 0 {
						t.Fatalf("rejected upload left %v", keys)
					}
				})
			}
		})
	}
}

func TestAllowlistIsConfigurable(t *testing.T) {
	p := newProcessor(t, localStore(t), upload.Config{Allowed: []string{upload.TypePDF}})
	if _, err := p.Process(context.Background(), bytes.NewReader(pngBytes(t, gradient(4, 4))), "a.png"); !errors.Is(err, upload.ErrTypeNotAllowed) {
		t.Fatalf("PNG with a PDF-only allowlist: %v", err)
	}
	if _, err := upload.New(localStore(t), upload.Config{Allowed: []string{"text/html"}, ThumbnailSizes: []int{1}}); err == nil ||
		!strings.Contains(err.Error(), "text/html") || !strings.Contains(err.Error(), "ThumbnailSizes") {
		t.Fatalf("New with a bad config = %v, want both problems named", err)
	}
}

func TestSizeLimit(t *testing.T) {
	for storeName, newStore := range stores(t) {
		t.Run(storeName, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			t.Run("exactly the limit is accepted", func(t *testing.T) {
				p := newProcessor(t, s, upload.Config{MaxBytes: 100_000})
				data := bytes.Repeat([]byte("a"), 100_000)
				a, err := p.Process(ctx, bytes.NewReader(data), "a.txt")
				if err != nil || a.Size != 100_000 {
					t.Fatalf("Process at the limit = %+v, %v", a, err)
				}
				s.Delete(ctx, a.Key)
			})
			t.Run("one byte over is refused", func(t *testing.T) {
				p := newProcessor(t, s, upload.Config{MaxBytes: 100_000})
				if _, err := p.Process(ctx, bytes.NewReader(bytes.Repeat([]byte("a"), 100_001)), "a.txt"); !errors.Is(err, upload.ErrTooLarge) {
					t.Fatalf("Process over the limit = %v, want ErrTooLarge", err)
				}
				if keys := storedKeys(t, s); len(keys) != 0 {
					t.Fatalf("oversize upload left %v", keys)
				}
			})
			t.Run("26 MB against the default 25 MiB limit streams and is refused", func(t *testing.T) {
				p := newProcessor(t, s, upload.Config{})
				body := io.MultiReader(strings.NewReader("%PDF-1.7\n"), blobtest.Data(1, 26<<20))
				if _, err := p.Process(ctx, body, "big.pdf"); !errors.Is(err, upload.ErrTooLarge) {
					t.Fatalf("Process(26 MB) = %v, want ErrTooLarge", err)
				}
				if keys := storedKeys(t, s); len(keys) != 0 {
					t.Fatalf("oversize upload left %v", keys)
				}
			})
		})
	}
}

func TestBrokenBodyLeavesNothing(t *testing.T) {
	s := localStore(t)
	p := newProcessor(t, s, upload.Config{})
	body := io.MultiReader(strings.NewReader("%PDF-1.7\n"), blobtest.FailAfter(2, 300_000, io.ErrUnexpectedEOF))
	if _, err := p.Process(context.Background(), body, "x.pdf"); !errors.Is(err, upload.ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Process(truncated body) = %v, want ErrMalformed wrapping io.ErrUnexpectedEOF", err)
	}
	if keys := storedKeys(t, s); len(keys) != 0 {
		t.Fatalf("broken upload left %v", keys)
	}
	if _, err := p.Process(context.Background(), strings.NewReader(""), "empty.txt"); !errors.Is(err, upload.ErrEmpty) {
		t.Fatalf("Process(empty) = %v, want ErrEmpty", err)
	}
}

func decodeThumb(t *testing.T, s blob.Store, th upload.Thumbnail) image.Image {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(readBlob(t, s, th.Key)))
	if err != nil {
		t.Fatalf("thumbnail %s does not decode: %v", th.Key, err)
	}
	if "image/"+format != th.ContentType {
		t.Fatalf("thumbnail is %s, metadata says %s", format, th.ContentType)
	}
	if b := img.Bounds(); b.Dx() != th.Width || b.Dy() != th.Height {
		t.Fatalf("thumbnail is %v, metadata says %dx%d", b, th.Width, th.Height)
	}
	return img
}

func TestThumbnails(t *testing.T) {
	ctx := context.Background()
	s := localStore(t)
	p := newProcessor(t, s, upload.Config{})
	type dims struct{ w, h int }
	check := func(t *testing.T, a *upload.Attachment, want ...dims) {
		t.Helper()
		if len(a.Thumbnails) != len(want) {
			t.Fatalf("%d thumbnails, want %d: %+v", len(a.Thumbnails), len(want), a.Thumbnails)
		}
		for i, th := range a.Thumbnails {
			if th.Width != want[i].w || th.Height != want[i].h {
				t.Fatalf("thumbnail %d is %dx%d, want %dx%d", i, th.Width, th.Height, want[i].w, want[i].h)
			}
			decodeThumb(t, s, th)
		}
	}
	t.Run("landscape PNG gets 160 and 480", func(t *testing.T) {
		a, err := p.Process(ctx, bytes.NewReader(pngBytes(t, gradient(1200, 800))), "x.png")
		if err != nil {
			t.Fatal(err)
		}
		if a.Width != 1200 || a.Height != 800 {
			t.Fatalf("dimensions %dx%d", a.Width, a.Height)
		}
		check(t, a, dims{160, 106}, dims{480, 320})
		if a.Thumbnails[0].ContentType != upload.TypeJPEG {
			t.Fatalf("opaque image thumbnail is %s, want JPEG", a.Thumbnails[0].ContentType)
		}
	})
	t.Run("small image gets one copy at its own size", func(t *testing.T) {
		a, err := p.Process(ctx, bytes.NewReader(gifBytes(t, 100, 50)), "x.gif")
		if err != nil {
			t.Fatal(err)
		}
		check(t, a, dims{100, 50})
	})
	t.Run("transparent PNG keeps alpha", func(t *testing.T) {
		img := image.NewNRGBA(image.Rect(0, 0, 300, 300))
		img.SetNRGBA(10, 10, color.NRGBA{255, 0, 0, 128})
		a, err := p.Process(ctx, bytes.NewReader(pngBytes(t, img)), "x.png")
		if err != nil {
			t.Fatal(err)
		}
		check(t, a, dims{160, 160}, dims{300, 300})
		if a.Thumbnails[0].ContentType != upload.TypePNG {
			t.Fatalf("transparent image thumbnail is %s, want PNG", a.Thumbnails[0].ContentType)
		}
	})
	t.Run("EXIF orientation 6 is applied", func(t *testing.T) {
		// Stored 600x400 with red left half; displayed turned 90° clockwise:
		// 400x600 with red top half.
		a, err := p.Process(ctx, bytes.NewReader(withOrientation(jpegBytes(t, gradient(600, 400)), 6)), "portrait.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if a.Width != 400 || a.Height != 600 {
			t.Fatalf("dimensions %dx%d, want 400x600", a.Width, a.Height)
		}
		check(t, a, dims{106, 160}, dims{320, 480})
		img := decodeThumb(t, s, a.Thumbnails[1])
		top, bottom := img.At(160, 100), img.At(160, 380)
		if r, _, b, _ := top.RGBA(); r < b {
			t.Fatalf("top of the turned thumbnail is not red: %v", top)
		}
		if r, _, b, _ := bottom.RGBA(); b < r {
			t.Fatalf("bottom of the turned thumbnail is not blue: %v", bottom)
		}
	})
	t.Run("thumbnails can be turned off", func(t *testing.T) {
		q := newProcessor(t, s, upload.Config{NoThumbnails: true})
		a, err := q.Process(ctx, bytes.NewReader(pngBytes(t, gradient(500, 500))), "x.png")
		if err != nil || len(a.Thumbnails) != 0 || a.Width != 500 {
			t.Fatalf("Process = %+v, %v", a, err)
		}
	})
	t.Run("corrupt pixels keep the file without thumbnails", func(t *testing.T) {
		j := jpegBytes(t, gradient(300, 300))
		j = j[:len(j)/2] // header intact, scan data cut
		a, err := p.Process(ctx, bytes.NewReader(j), "cut.jpg")
		if err != nil || len(a.Thumbnails) != 0 || a.Width != 300 {
			t.Fatalf("Process(truncated JPEG) = %+v, %v", a, err)
		}
	})
}

func TestDecompressionBombRejected(t *testing.T) {
	s := localStore(t)
	p := newProcessor(t, s, upload.Config{})
	a, err := p.Process(context.Background(), bytes.NewReader(pngClaiming(t, 100_000, 100_000)), "bomb.png")
	if !errors.Is(err, upload.ErrImageTooLarge) {
		t.Fatalf("Process(10 gigapixel PNG) = %+v, %v; want ErrImageTooLarge", a, err)
	}
	small := newProcessor(t, s, upload.Config{MaxPixels: 10_000})
	if _, err := small.Process(context.Background(), bytes.NewReader(pngBytes(t, gradient(101, 100))), "x.png"); !errors.Is(err, upload.ErrImageTooLarge) {
		t.Fatalf("101x100 with MaxPixels 10000 = %v", err)
	}
	if _, err := small.Process(context.Background(), bytes.NewReader(pngBytes(t, gradient(100, 100))), "x.png"); err != nil {
		t.Fatalf("100x100 with MaxPixels 10000 = %v", err)
	}
	if keys := storedKeys(t, s); len(keys) != 2 { // the accepted image and its one thumbnail
		t.Fatalf("store holds %v", keys)
	}
}

func multipartBody(t *testing.T, fields [][3]string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		var w io.Writer
		var err error
		if f[1] == "" {
			w, err = mw.CreateFormField(f[0])
		} else {
			w, err = mw.CreateFormFile(f[0], f[1])
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f[2])
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestProcessRequest(t *testing.T) {
	s := localStore(t)
	p := newProcessor(t, s, upload.Config{})
	body, ct := multipartBody(t, [][3]string{{"caption", "", "hello"}, {"file", "../../etc/passwd", "root:x:0:0\n"}})
	r := httptest.NewRequest("POST", "/api/v1/attachments", body)
	r.Header.Set("Content-Type", ct)
	a, err := p.ProcessRequest(r, "file")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "passwd.txt" || a.ContentType != upload.TypeText {
		t.Fatalf("got %+v", a)
	}

	body, ct = multipartBody(t, [][3]string{{"other", "x.txt", "data"}})
	r = httptest.NewRequest("POST", "/", body)
	r.Header.Set("Content-Type", ct)
	if _, err := p.ProcessRequest(r, "file"); !errors.Is(err, upload.ErrMalformed) {
		t.Fatalf("no file part = %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/json")
	if _, err := p.ProcessRequest(r, "file"); !errors.Is(err, upload.ErrMalformed) {
		t.Fatalf("JSON body = %v", err)
	}
}
