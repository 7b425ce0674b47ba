package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// staticFiles serves the web app's embedded files. Each file is read, hashed
// and gzipped once, on its first request, and kept: the set is fixed at
// build time, so the cache is bounded by it. A reload costs a 304 (the
// ETag is the content's hash, revalidated on every load because the app's
// URLs carry no version), and a first load moves the gzipped bytes.
type staticFiles struct {
	fsys fs.FS

	mu    sync.Mutex // guards the following
	files map[string]*staticFile
}

// staticFile is one file in both of the forms it is served in.
type staticFile struct {
	contentType string
	body        []byte
	etag        string // strong, from the content
	gzip        []byte // nil when gzip would not make it smaller
	gzipETag    string // a representation of its own, so a tag of its own
}

func newStaticFiles(fsys fs.FS) *staticFiles {
	return &staticFiles{fsys: fsys, files: make(map[string]*staticFile)}
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	switch {
	case name == "":
		name = "index.html"
	case name == "index.html":
		// One URL for the page, as http.FileServer has it.
		http.Redirect(w, r, "./", http.StatusMovedPermanently)
		return
	}
	f, err := s.file(name)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "cannot read "+name, http.StatusInternalServerError)
		return
	}
	body, etag := f.body, f.etag
	h := w.Header()
	h.Add("Vary", "Accept-Encoding")
	if f.gzip != nil && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body, etag = f.gzip, f.gzipETag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if noneMatch := r.Header.Values("If-None-Match"); len(noneMatch) > 0 && etagMatches(noneMatch, etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// file returns the named file, reading and compressing it on first use.
// Directories are not served.
func (s *staticFiles) file(name string) (*staticFile, error) {
	s.mu.Lock()
	f, ok := s.files[name]
	s.mu.Unlock()
	if ok {
		return f, nil
	}
	if st, err := fs.Stat(s.fsys, name); err != nil {
		return nil, err
	} else if st.IsDir() {
		return nil, fs.ErrNotExist
	}
	body, err := fs.ReadFile(s.fsys, name)
	if err != nil {
		return nil, err
	}
	f = &staticFile{body: body}
	f.contentType = mime.TypeByExtension(path.Ext(name))
	if f.contentType == "" {
		f.contentType = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:18])
	f.etag = `"` + tag + `"`
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(body)                                           // a bytes.Buffer does not fail
	zw.Close()
	if buf.Len() < len(body) {
		f.gzip = buf.Bytes()
		f.gzipETag = `"` + tag + `-gz"`
	}
	s.mu.Lock()
	if old, ok := s.files[name]; ok {
		f = old // another request was first; keep one copy
	} else {
		s.files[name] = f
	}
	s.mu.Unlock()
	return f, nil
}

// acceptsGzip reports whether Accept-Encoding values allow gzip: listed
// (or x-gzip, or *, when gzip is not listed itself) with a q above 0.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			ok := qualityAboveZero(params)
			switch coding {
			case "gzip", "x-gzip":
				return ok
			case "*":
				star = ok
			}
		}
	}
	return star
}

// qualityAboveZero reads the q parameter of one Accept-Encoding entry;
// missing means 1, unreadable means 0.
func qualityAboveZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.ToLower(strings.TrimSpace(k)) != "q" {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0
	}
	return true
}

// etagMatches reports whether If-None-Match values name etag, with the
// weak comparison RFC 9110 §13.1.2 asks for (a W/ prefix is ignored).
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}
