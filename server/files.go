package server

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/protocol"
)

// Files (issue 9). An upload is one request whose body is the file
// (POST /api/rooms/{room}/files?name=...), answered with the stored file;
// a send_message then names it in attachments. The file is served at its
// url to whoever the store lets read it (chat.FileStore), never as a page
// of this origin: nosniff, a CSP that allows nothing, and attachment for
// anything but an image the server decoded.

// fileCSP is every file's Content-Security-Policy: a file opened on its
// own (an HTML file a browser would render, an SVG) runs nothing, loads
// nothing, and is a unique origin (sandbox) without the app's cookies.
const fileCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// Sweeping of uploads no message carries: every node deletes, every
// uploadSweepInterval, those older than unattachedTTL (a day: time
// enough to write the message an upload was for, even offline).
const (
	uploadSweepInterval = time.Hour
	unattachedTTL       = 24 * time.Hour
)

// handleUpload stores the request's body as a file of the room, for a
// member who may post there. The body is read up to the limit and no
// further: a declared length above it is refused before reading, a body
// that turns out longer when it is read (chunked) is cut off there.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, id identity) {
	room := r.PathValue("room")
	if !chat.ValidRoomRef(room) {
		s.writeError(w, r, chat.Errorf(chat.CodeBadRequest, "no such room name: %q", room))
		return
	}
	limit := s.cfg.MaxUploadBytes
	tooLarge := chat.Errorf(chat.CodeTooLarge, "file is larger than the limit of %d bytes", limit)
	if r.ContentLength > limit {
		s.writeError(w, r, tooLarge)
		return
	}
	if err := s.allowSend(id.user); err != nil {
		s.writeError(w, r, err)
		return
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(0, min(r.ContentLength, limit))+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			s.writeError(w, r, tooLarge)
		} else {
			s.writeError(w, r, chat.Errorf(chat.CodeBadRequest, "the upload did not arrive whole: %v", err))
		}
		return
	}
	if buf.Len() == 0 {
		s.writeError(w, r, chat.Errorf(chat.CodeBadRequest, "file is empty"))
		return
	}
	f := s.describe(buf.Bytes())
	f.Room, f.Name, f.CreatedAt = room, chat.CleanFileName(r.URL.Query().Get("name")), time.Now()
	a, err := timed(s.metrics, "save_file", func() (chat.Attachment, error) {
		return s.store.SaveFile(r.Context(), id.user.ID, f)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, protocol.FileAck{File: a})
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request, id identity) {
	s.serveFile(w, r, id, false)
}

func (s *Server) handleThumb(w http.ResponseWriter, r *http.Request, id identity) {
	s.serveFile(w, r, id, true)
}

// serveFile answers with a file, or its thumbnail, if the store lets the
// user read it, and with the same not_found otherwise.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, id identity, thumb bool) {
	type file struct {
		a       chat.Attachment
		content []byte
	}
	f, err := timed(s.metrics, "file", func() (file, error) {
		a, content, err := s.store.File(r.Context(), id.user.ID, r.PathValue("id"), thumb)
		return file{a, content}, err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", fileCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// A file never changes under its id, but who may read it does (a
	// member leaves, a message is deleted): only the browser keeps it,
	// and asks again each time (a 304 if the ETag still matches).
	h.Set("Cache-Control", "private, no-cache")
	etag, typ, disposition := f.a.ID, f.a.Type, "attachment"
	switch {
	case thumb:
		etag, typ, disposition = f.a.ID+"-thumb", http.DetectContentType(f.content), "inline"
	case f.a.IsImage():
		disposition = "inline"
	}
	h.Set("ETag", `"`+etag+`"`)
	h.Set("Content-Type", typ)
	if v := mime.FormatMediaType(disposition, map[string]string{"filename": f.a.Name}); v != "" {
		disposition = v
	}
	h.Set("Content-Disposition", disposition)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.content))
}

// sweepUploads deletes, every uploadSweepInterval until the hub shuts
// down, the uploads that no message took within unattachedTTL. Every
// node sweeps; the deletes are idempotent.
func (h *hub) sweepUploads() {
	defer h.pollers.Done()
	t := time.NewTicker(uploadSweepInterval)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		n, err := h.s.store.DeleteUnattachedFiles(ctx, time.Now().Add(-unattachedTTL))
		cancel()
		switch {
		case err != nil:
			h.s.log.Warn("uploads never sent could not be deleted; trying again later", "err", err)
		case n > 0:
			h.s.log.Info("deleted uploads never sent", "files", n, "older_than", unattachedTTL)
		}
	}
}
