package chat

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends m's JSON, the bytes json.Marshal(m) gives, to b.
//
// Every acked send encodes its message twice on the store's commit path
// (the ack and the room's new_message), and encoding/json's reflection was
// most of that; a message with none of the optional lists or the thread
// summary is written here by hand, anything else as before.
func (m Message) AppendJSON(b []byte) []byte {
	if m.Replies != nil || len(m.Reactions) > 0 || len(m.Mentions) > 0 || len(m.Attachments) > 0 {
		return append(b, m.marshalSlow()...)
	}
	// The order is encoding/json's for MarshalJSON's struct: the fields of
	// the embedded Message first, then the two times that shadow its own.
	b = append(b, `{"room":`...)
	b = AppendJSONString(b, m.Room)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"id":`...)
	b = AppendJSONString(b, m.ID)
	b = append(b, `,"from":{"id":`...)
	b = AppendJSONString(b, m.From.ID)
	b = append(b, `,"username":`...)
	b = AppendJSONString(b, m.From.Username)
	b = append(b, `},"text":`...)
	b = AppendJSONString(b, m.Text)
	if m.ClientMsgID != "" {
		b = append(b, `,"client_msg_id":`...)
		b = AppendJSONString(b, m.ClientMsgID)
	}
	b = append(b, `,"deleted":`...)
	b = strconv.AppendBool(b, m.Deleted)
	if m.ReplyTo != 0 {
		b = append(b, `,"reply_to":`...)
		b = strconv.AppendInt(b, m.ReplyTo, 10)
	}
	if m.MentionRoom {
		b = append(b, `,"mention_room":true`...)
	}
	b = append(b, `,"sent_at":"`...)
	b = m.SentAt.UTC().AppendFormat(b, timeLayout)
	if m.EditedAt == nil {
		return append(b, `","edited_at":null}`...)
	}
	b = append(b, `","edited_at":"`...)
	b = m.EditedAt.UTC().AppendFormat(b, timeLayout)
	return append(b, `"}`...)
}

// marshalSlow is MarshalJSON by reflection.
func (m Message) marshalSlow() []byte {
	type plain Message // no MarshalJSON: no recursion
	out := struct {
		plain
		SentAt   string  `json:"sent_at"`
		EditedAt *string `json:"edited_at"`
	}{plain: plain(m), SentAt: m.SentAt.UTC().Format(timeLayout)}
	if m.EditedAt != nil {
		e := m.EditedAt.UTC().Format(timeLayout)
		out.EditedAt = &e
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // plain data: strings, numbers, slices of plain structs
	}
	return b
}

// AppendJSON appends r's JSON (encoding/json's bytes for Room before it had
// MarshalJSON, last_activity as Message writes sent_at) to b: every
// connect's welcome writes each of the user's rooms, and encoding/json's
// reflection (and its second pass over what a MarshalJSON returns) was
// most of the welcome's encoding.
func (r Room) AppendJSON(b []byte) []byte {
	// The order is encoding/json's for a struct embedding Room and a
	// last_activity that shadows its own (roomByReflection in the tests).
	b = append(b, `{"name":`...)
	b = AppendJSONString(b, r.Name)
	b = append(b, `,"private":`...)
	b = strconv.AppendBool(b, r.Private)
	b = append(b, `,"last_seq":`...)
	b = strconv.AppendInt(b, r.LastSeq, 10)
	b = append(b, `,"joined":`...)
	b = strconv.AppendBool(b, r.Joined)
	b = append(b, `,"unread":`...)
	b = strconv.AppendInt(b, r.Unread, 10)
	b = append(b, `,"members_online":`...)
	b = strconv.AppendInt(b, int64(r.MembersOnline), 10)
	b = append(b, `,"mentions":`...)
	b = strconv.AppendInt(b, r.Mentions, 10)
	b = append(b, `,"topic":`...)
	b = AppendJSONString(b, r.Topic)
	b = append(b, `,"description":`...)
	b = AppendJSONString(b, r.Description)
	b = append(b, `,"member_count":`...)
	b = strconv.AppendInt(b, r.MemberCount, 10)
	b = append(b, `,"archived":`...)
	b = strconv.AppendBool(b, r.Archived)
	if r.Role != "" {
		b = append(b, `,"role":`...)
		b = AppendJSONString(b, r.Role)
	}
	b = append(b, `,"muted":`...)
	b = strconv.AppendBool(b, r.Muted)
	if r.LastActivity == nil {
		return append(b, `,"last_activity":null}`...)
	}
	b = append(b, `,"last_activity":"`...)
	b = r.LastActivity.UTC().AppendFormat(b, timeLayout)
	return append(b, `"}`...)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string exactly as json.Marshal
// writes it: <, > and & escaped (HTML-safe), invalid UTF-8 replaced by
// U+FFFD, U+2028 and U+2029 escaped.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
