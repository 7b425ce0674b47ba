package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/web"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// contentSecurityPolicy allows the app's own scripts, styles and images and
// nothing inline; connect-src 'self' covers the same-origin WebSocket.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// routes is every route the server answers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/register", s.sameOrigin(s.handleRegister))
	mux.HandleFunc("POST /api/login", s.sameOrigin(s.handleLogin))
	mux.HandleFunc("POST /api/logout", s.authed(s.handleLogout))
	mux.HandleFunc("GET /api/me", s.authed(s.handleMe))
	mux.HandleFunc("GET /api/rooms", s.authed(s.handleRooms))
	mux.HandleFunc("GET /api/rooms/public", s.authed(s.handleDirectory))
	mux.HandleFunc("GET /api/rooms/{room}/messages", s.authed(s.handleHistory))
	mux.HandleFunc("POST /api/rooms/{room}/messages", s.authed(s.handlePost))
	mux.HandleFunc("POST /api/rooms/{room}/files", s.authed(s.handleUpload))
	mux.HandleFunc("GET /files/{id}/{name}", s.authed(s.handleFile))
	mux.HandleFunc("GET /thumbs/{id}", s.authed(s.handleThumb))
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{Registry: s.cfg.Registry}))
	mux.Handle("GET /", staticHeaders(newStaticFiles(web.FS)))
	return s.jsonErrors(mux)
}

// admitWS runs the checks a WebSocket upgrade passes before it is
// answered, wherever it is read (handleWS, or the listener's own path):
// the Origin allowlist, then the session.
func (s *Server) admitWS(r *http.Request) (identity, error) {
	if !s.originAllowed(r) {
		return identity{}, chat.Errorf(chat.CodeForbidden, "origin not allowed")
	}
	return s.auth.authenticate(r)
}

// jsonErrors answers what the mux has no route for with the JSON error
// body of every other HTTP error: 405 (with Allow) for a path that exists
// with other methods, 404 under /api/. Other unknown paths are the web
// app's, whose file server answers 404 itself.
func (s *Server) jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if _, pattern := mux.Handler(r); pattern != "" && !(api && pattern == "GET /") {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != "" && p != "GET /" {
				allow = append(allow, m)
			}
		}
		switch {
		case len(allow) > 0:
			if slices.Contains(allow, http.MethodGet) {
				allow = append(allow, http.MethodHead)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			// The contract has no code of its own for this status.
			s.writeJSONStatus(w, http.StatusMethodNotAllowed, chat.CodeBadRequest, r.Method+" is not allowed here")
		case api:
			s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "no such endpoint"))
		default:
			mux.ServeHTTP(w, r)
		}
	})
}

// sameOrigin refuses state-changing requests that a page of a foreign
// origin sent.
func (s *Server) sameOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.originAllowed(r) {
			s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "origin not allowed"))
			return
		}
		next(w, r)
	}
}

// authed requires a session. Cookie-authenticated POSTs must also come from
// an allowed origin; Bearer tokens are not sent by browsers on their own and
// need no such check.
func (s *Server) authed(next func(http.ResponseWriter, *http.Request, identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := s.auth.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if id.byCookie && r.Method != http.MethodGet && !s.originAllowed(r) {
			s.writeError(w, r, chat.Errorf(chat.CodeForbidden, "origin not allowed"))
			return
		}
		next(w, r, id)
	}
}

// staticHeaders sets the web app's security headers on every response it
// gets, 304s and 404s included. no-cache means "revalidate": with the ETag
// a reload costs one 304 per file.
func staticHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Ready(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": chat.ErrorMessage(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleWS upgrades to a WebSocket after the Origin and session checks.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	id, err := s.admitWS(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// gorilla/websocket does the handshake; its response is held by the
	// wire and goes out with the welcome, in one write (hub.serve). The
	// connection's frames are read and written by chatd's own reader and
	// flushers (reader.go, flusher.go), so the upgrader's Conn is not kept.
	hw := &hijackWriter{ResponseWriter: w}
	if _, err := upgrader.Upgrade(hw, r, nil); err != nil {
		return // the upgrader has answered
	}
	s.hub.serve(newConn(s, hw.wire, id), hw.wire.takeHandshake())
}
