package server

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
)

// The WebSocket handshake (RFC 6455 §4.2) is chatd's own, with the checks
// and answers of gorilla/websocket's Upgrader, so that the response can
// wait for the welcome and go out with it in one write: a connect then
// costs the server one write syscall instead of two (and no flusher
// wake-up), and the client one read instead of two. gorilla's upgrader
// also built a Conn that chatd never used.

// handshakeError is a request the handshake refuses: its HTTP status.
type handshakeError struct {
	status int
	reason string
}

// checkHandshake returns the Sec-WebSocket-Accept value of a WebSocket
// upgrade request, or why it is not one. Method and path are the mux's.
func checkHandshake(r *http.Request) (string, *handshakeError) {
	const badHandshake = "websocket: the client is not using the websocket protocol: "
	switch {
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "", &handshakeError{http.StatusBadRequest, badHandshake + "'upgrade' token not found in 'Connection' header"}
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "", &handshakeError{http.StatusBadRequest, badHandshake + "'websocket' token not found in 'Upgrade' header"}
	case r.Method != http.MethodGet:
		return "", &handshakeError{http.StatusMethodNotAllowed, badHandshake + "request method is not GET"}
	case !headerHasToken(r.Header, "Sec-Websocket-Version", "13"):
		return "", &handshakeError{http.StatusBadRequest, "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header"}
	}
	key := r.Header.Get("Sec-Websocket-Key")
	if n, err := base64.StdEncoding.DecodeString(key); err != nil || len(n) != 16 {
		return "", &handshakeError{http.StatusBadRequest, "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length"}
	}
	return acceptKey(key), nil
}

// refuse answers a refused handshake as gorilla's upgrader did.
func (e *handshakeError) refuse(w http.ResponseWriter) {
	w.Header().Set("Sec-Websocket-Version", "13")
	http.Error(w, http.StatusText(e.status), e.status)
}

// websocketGUID is RFC 6455's constant of the accept key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey is Sec-WebSocket-Accept for the client's key.
func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(websocketGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(h.Sum(sum[:0]))
}

// switchingProtocols is the handshake's response: no subprotocol, no
// extension (permessage-deflate stays off).
func switchingProtocols(accept string) []byte {
	const head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
	b := make([]byte, 0, len(head)+len(accept)+4)
	b = append(b, head...)
	b = append(b, accept...)
	return append(b, "\r\n\r\n"...)
}

// headerHasToken reports whether a comma-separated list in header name
// holds token, in any case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
