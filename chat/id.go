package chat

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns prefix followed by 80 random bits, e.g. "u_3xk2...", for the
// IDs of users ("u_") and messages ("m_").
func NewID(prefix string) string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return prefix + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
