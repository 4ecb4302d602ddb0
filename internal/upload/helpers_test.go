package upload_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blob/local"
	"github.com/parleyhq/parley/internal/blob/s3"
	"github.com/parleyhq/parley/internal/blobtest"
	"github.com/parleyhq/parley/internal/upload"
)

// stores returns constructors for both real stores; the S3 one shares one
// versitygw per test.
func stores(t *testing.T) map[string]func(t *testing.T) blob.Store {
	var gw *blobtest.S3Gateway
	return map[string]func(t *testing.T) blob.Store{
		"local": func(t *testing.T) blob.Store {
			s, err := local.Open(local.Config{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"s3": func(t *testing.T) blob.Store {
			if gw == nil {
				gw = blobtest.S3Server(t)
			}
			b := gw.NewBucket(t)
			s, err := s3.Open(context.Background(), s3.Config{Endpoint: b.Endpoint, Bucket: b.Bucket, AccessKey: b.AccessKey, SecretKey: b.SecretKey, PathStyle: true})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func localStore(t testing.TB) blob.Store {
	s, err := local.Open(local.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newProcessor(t testing.TB, s blob.Store, cfg upload.Config) *upload.Processor {
	t.Helper()
	p, err := upload.New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// storedKeys lists every blob in s.
func storedKeys(t *testing.T, s blob.Store) []string {
	t.Helper()
	var keys []string
	err := s.(blob.Walker).Walk(context.Background(), "", func(k string, _ int64, _ time.Time) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// gradient returns a w×h opaque image whose left half is red and right
// half blue, so orientation can be checked.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{200, 20, 20, 255}
			if x >= w/2 {
				c = color.RGBA{20, 20, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with the given orientation
// right after the JPEG's SOI marker, as a phone camera writes it.
func withOrientation(j []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8)) // IFD0 offset
	binary.Write(&tiff, binary.BigEndian, uint16(1)) // one entry
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.BigEndian, uint32(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{o, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := append([]byte{}, j[:2]...)
	out = append(out, 0xFF, 0xE1, byte((len(seg)+2)>>8), byte(len(seg)+2))
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// pngClaiming patches a PNG's IHDR to claim w×h pixels (fixing the CRC),
// the cheapest decompression bomb: the header alone promises gigabytes.
func pngClaiming(t testing.TB, w, h uint32) []byte {
	b := pngBytes(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// zipWith builds a zip archive with the given entries in order.
func zipWith(t testing.TB, entries ...[2]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.Create(e[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ooxml(t testing.TB, mainType, mainPart string) []byte {
	ct := `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="xml" ContentType="application/xml"/><Override PartName="/` + mainPart + `" ContentType="` + mainType + `"/></Types>`
	return zipWith(t, [2]string{"[Content_Types].xml", ct}, [2]string{"_rels/.rels", "<Relationships/>"}, [2]string{mainPart, "<doc/>"})
}

// ole builds a minimal compound file: a header and one directory sector
// with a root entry of the given class id and the named streams.
func ole(class [16]byte, streams ...string) []byte {
	b := make([]byte, 512*3)
	copy(b, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	binary.LittleEndian.PutUint16(b[26:], 3)      // major version
	binary.LittleEndian.PutUint16(b[28:], 0xFFFE) // byte order
	binary.LittleEndian.PutUint16(b[30:], 9)      // 512-byte sectors
	binary.LittleEndian.PutUint32(b[48:], 0)      // directory starts at sector 0
	entry := func(i int, name string) []byte {
		e := b[512+128*i : 512+128*(i+1)]
		n := 0
		for _, r := range name {
			binary.LittleEndian.PutUint16(e[n:], uint16(r))
			n += 2
		}
		binary.LittleEndian.PutUint16(e[64:], uint16(n+2))
		return e
	}
	root := entry(0, "Root Entry")
	copy(root[80:96], class[:])
	for i, s := range streams {
		entry(i+1, s)
	}
	return b
}

var (
	wordClass = [16]byte{0x06, 0x09, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
	msiClass  = [16]byte{0x84, 0x10, 0x0C, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
)
