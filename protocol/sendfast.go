package protocol

import (
	"unicode/utf8"
)

// DecodeSendMessage reads a send_message frame in the form clients write it
// (JSON.stringify, json.Marshal: no white space, no escapes in the strings,
// the payload's room, text and client_msg_id only) without encoding/json,
// which scans such a frame three times and allocates for each field. It
// returns what Decode and DecodePayload (with Validate) would, and ok; for
// anything else, and for a payload that would not validate, ok is false and
// the caller decodes as before, which also finds the error to answer.
func DecodeSendMessage(data []byte) (id string, p SendMessage, ok bool) {
	if !utf8.Valid(data) {
		return "", SendMessage{}, false
	}
	s := string(data) // one allocation; the fields are substrings
	var (
		seen    [6]bool // type, id, payload; room, text, client_msg_id
		payload string
	)
	pairs := func(obj string, keys []string, seen []bool, f func(k int, v string) bool) bool {
		if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
			return false
		}
		rest := obj[1 : len(obj)-1]
		for rest != "" {
			key, after, ok := cutString(rest)
			if !ok || after == "" || after[0] != ':' {
				return false
			}
			k := -1
			for i, name := range keys {
				if key == name {
					k = i
				}
			}
			if k < 0 || seen[k] {
				return false // unknown (maybe a case variant json would take), or twice
			}
			seen[k] = true
			v, after, ok := cutValue(after[1:])
			if !ok || !f(k, v) {
				return false
			}
			if after != "" {
				if after[0] != ',' || len(after) == 1 {
					return false
				}
				after = after[1:]
			}
			rest = after
		}
		return true
	}
	ok = pairs(s, []string{"type", "id", "payload"}, seen[:3], func(k int, v string) bool {
		switch k {
		case 0:
			return v == `"`+TypeSendMessage+`"`
		case 1:
			str, ok := unquote(v)
			id = str
			return ok && len(id) <= MaxIDLen
		default:
			payload = v
			return v != "" && v[0] == '{'
		}
	})
	if !ok || !seen[0] || !seen[2] {
		return "", SendMessage{}, false
	}
	ok = pairs(payload, []string{"room", "text", "client_msg_id"}, seen[3:], func(k int, v string) bool {
		str, ok := unquote(v)
		switch k {
		case 0:
			p.Room = str
		case 1:
			p.Text = str
		default:
			p.ClientMsgID = str
		}
		return ok
	})
	if !ok || p.Validate() != nil {
		return "", SendMessage{}, false
	}
	return id, p, true
}

// cutString cuts a JSON string with no escapes from the front of s and
// returns its content.
func cutString(s string) (str, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], s[i+1:], true
		case c == '\\' || c < 0x20:
			return "", "", false
		}
	}
	return "", "", false
}

// cutValue cuts a string, or an object of plain pairs (strings, numbers,
// literals, no nesting: the payload), from the front of s.
func cutValue(s string) (v, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if s[0] == '"' {
		_, rest, ok := cutString(s)
		return s[:len(s)-len(rest)], rest, ok
	}
	if s[0] != '{' {
		return "", "", false
	}
	for i := 1; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			_, rest, ok := cutString(s[i:])
			if !ok {
				return "", "", false
			}
			i = len(s) - len(rest)
		case c == '}':
			return s[:i+1], s[i+1:], true
		case c == '{' || c == '[' || c == '\\' || c <= ' ':
			return "", "", false
		default:
			i++
		}
	}
	return "", "", false
}

// unquote is the content of v, a string cutString accepts in full.
func unquote(v string) (string, bool) {
	str, rest, ok := cutString(v)
	return str, ok && rest == ""
}
