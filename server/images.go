package server

import (
	"bytes"
	"image"
	_ "image/gif" // registers the GIF decoder with image
	"image/jpeg"
	"image/png"
	"mime"
	"net/http"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder with image

	"github.com/chatd/chatd/chat"
)

// Images an upload may be, with the image package's name of each: only
// these are decoded, measured, given a thumbnail and served inline.
var imageFormats = map[string]string{
	"image/png":  "png",
	"image/jpeg": "jpeg",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// maxImagePixels bounds the images the server decodes (a decoded image
// takes up to 4 bytes a pixel): a small file may declare a huge image (a
// decompression bomb), so its size is read from its header first
// (image.DecodeConfig) and a larger one is kept as a plain file, without
// thumbnail, shown as a download.
const maxImagePixels = 24_000_000

// thumbSize bounds a thumbnail's width and height.
const thumbSize = 320

// imageSlots bounds the images decoded at once, and so their memory.
var imageSlots = make(chan struct{}, 2)

// describe finds out what content is, from the content alone: its type
// (http.DetectContentType, whatever the client said), and for an image
// it can decode its size and a thumbnail. An image it cannot decode
// whole keeps its type and is served as a download.
func (s *Server) describe(content []byte) chat.NewFile {
	f := chat.NewFile{Content: content, Type: http.DetectContentType(content)}
	mt, _, _ := mime.ParseMediaType(f.Type)
	format, ok := imageFormats[mt]
	if !ok {
		return f
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(content))
	if err != nil || got != format || cfg.Width <= 0 || cfg.Height <= 0 ||
		int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return f
	}
	imageSlots <- struct{}{}
	defer func() { <-imageSlots }()
	img, _, err := image.Decode(bytes.NewReader(content))
	if err != nil {
		return f
	}
	thumb, err := thumbnail(img, format)
	if err != nil {
		s.log.Warn("no thumbnail for an image", "type", mt, "err", err)
		return f
	}
	f.Width, f.Height, f.Thumb = cfg.Width, cfg.Height, thumb
	return f
}

// thumbnail scales img to fit thumbSize (never up) and encodes it: JPEG
// for a JPEG, PNG (which keeps transparency) for the others.
func thumbnail(img image.Image, format string) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > thumbSize || h > thumbSize {
		if w >= h {
			w, h = thumbSize, max(1, h*thumbSize/w)
		} else {
			w, h = max(1, w*thumbSize/h), thumbSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var out bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 82})
	} else {
		err = png.Encode(&out, dst)
	}
	return out.Bytes(), err
}
