package upload

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	_ "golang.org/x/image/webp"
	_ "image/gif" // register decoders for image.Decode

	"golang.org/x/image/draw"
)

// Thumbnail is one preview of an image attachment, stored as its own blob
// (encrypted like the original on the local store).
type Thumbnail struct {
	Key         string `json:"key"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"` // image/jpeg, or image/png for images with transparency
	Size        int64  `json:"size"`
}

// imageConfig reads an image's dimensions without decoding its pixels.
func imageConfig(r io.Reader) (image.Config, error) {
	cfg, _, err := image.DecodeConfig(r)
	return cfg, err
}

// thumbSize scales w×h so that its longest side is at most max.
func thumbSize(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		return max, clamp1(h * max / w)
	}
	return clamp1(w * max / h), max
}

func clamp1(n int) int { return max(n, 1) }

// encodedThumb is a thumbnail ready to store.
type encodedThumb struct {
	width, height int
	contentType   string
	data          []byte
}

// makeThumbnails decodes the image from r, turns it by the EXIF
// orientation, and renders one thumbnail per
// size (ascending), each scaled from the previous one to save work; sizes
// larger than the image collapse into one copy at the original size (which
// still strips metadata such as EXIF location).
func makeThumbnails(ctx context.Context, r io.Reader, sizes []int, orientation int) ([]encodedThumb, error) {
	src, _, err := image.Decode(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, err
	}
	opaque := isOpaque(src)
	// Scale in the stored orientation and turn only the small result.
	ob := src.Bounds()
	ow, oh := ob.Dx(), ob.Dy()
	if swapsAxes(orientation) {
		ow, oh = oh, ow
	}
	var out []encodedThumb
	prev := src
	for _, size := range sizes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		w, h := thumbSize(ow, oh, size)
		if len(out) > 0 && w == out[len(out)-1].width && h == out[len(out)-1].height {
			break
		}
		sw, sh := w, h
		if swapsAxes(orientation) {
			sw, sh = h, w
		}
		var scaled draw.Image
		if opaque {
			scaled = image.NewRGBA(image.Rect(0, 0, sw, sh))
		} else {
			scaled = image.NewNRGBA(image.Rect(0, 0, sw, sh))
		}
		draw.CatmullRom.Scale(scaled, scaled.Bounds(), prev, prev.Bounds(), draw.Src, nil)
		prev = scaled
		final := orient(scaled, orientation)
		var buf bytes.Buffer
		ct := TypeJPEG
		if opaque {
			err = jpeg.Encode(&buf, final, &jpeg.Options{Quality: 82})
		} else {
			ct = TypePNG
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, final)
		}
		if err != nil {
			return nil, fmt.Errorf("encode thumbnail: %w", err)
		}
		out = append(out, encodedThumb{width: w, height: h, contentType: ct, data: buf.Bytes()})
	}
	return out, nil
}

// isOpaque reports whether every pixel is opaque, using the decoder's own
// knowledge where it has it.
func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	switch img.ColorModel() {
	case color.YCbCrModel, color.GrayModel, color.Gray16Model, color.CMYKModel:
		return true
	}
	return false
}
