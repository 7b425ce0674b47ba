// Package protocol is chatd's WebSocket wire format, version 1: the envelope,
// the event types, one struct per payload, and decoding with validation.
// The server, the load generator and the tests share it.
package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/chatd/chatd/chat"
)

// Client → server event types.
const (
	TypeSendMessage   = "send_message"
	TypeJoinRoom      = "join_room"
	TypeChangeRoom    = "change_room"
	TypeLeaveRoom     = "leave_room"
	TypeCreateRoom    = "create_room"
	TypeInvite        = "invite"
	TypeOpenDM        = "open_dm"
	TypeHistory       = "history"
	TypeListRooms     = "list_rooms"
	TypeTyping        = "typing"
	TypeWho           = "who"
	TypeEditMessage   = "edit_message"
	TypeDeleteMessage = "delete_message"
	TypeMarkRead      = "mark_read"
	TypeReact         = "react"
	TypeSearch        = "search"
)

// Server → client event types.
const (
	TypeAck            = "ack"
	TypeError          = "error"
	TypeWelcome        = "welcome"
	TypeNewMessage     = "new_message"
	TypeMessageUpdated = "message_updated"
	TypeMessageDeleted = "message_deleted"
	TypePresence       = "presence"
	TypeReadMarker     = "read_marker"
	TypeRoomAdded      = "room_added"
	// TypeRoomRemoved tells a user's other connections that they left a
	// room. It extends the contract; clients may ignore it.
	TypeRoomRemoved = "room_removed"
	// TypeReaction and TypeThreadUpdated tell a room's members of a
	// reaction and of a thread's new reply (issue 8).
	TypeReaction      = "reaction"
	TypeThreadUpdated = "thread_updated"
)

// MaxIDLen is the longest request id a client may choose.
const MaxIDLen = 64

// Envelope is every frame in both directions.
type Envelope struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Decode parses one client frame. The error is a *chat.Error with code
// bad_request; the returned Envelope keeps whatever id could be read, so
// that the error can answer the request that caused it.
func Decode(data []byte) (Envelope, error) {
	var env Envelope
	if !utf8.Valid(data) {
		return env, chat.Errorf(chat.CodeBadRequest, "frame is not valid UTF-8")
	}
	var raw struct {
		Type    json.RawMessage `json:"type"`
		ID      json.RawMessage `json:"id"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return env, chat.Errorf(chat.CodeBadRequest, "frame is not a JSON object: %s", jsonError(err))
	}
	if len(raw.ID) > 0 && !isNull(raw.ID) {
		if err := json.Unmarshal(raw.ID, &env.ID); err != nil {
			return Envelope{}, chat.Errorf(chat.CodeBadRequest, "id must be a string")
		}
		if len(env.ID) > MaxIDLen {
			env.ID = ""
			return env, chat.Errorf(chat.CodeBadRequest, "id is longer than %d bytes", MaxIDLen)
		}
	}
	if len(raw.Type) == 0 || isNull(raw.Type) {
		return env, chat.Errorf(chat.CodeBadRequest, "type is required")
	}
	if err := json.Unmarshal(raw.Type, &env.Type); err != nil {
		return env, chat.Errorf(chat.CodeBadRequest, "type must be a string")
	}
	if env.Type == "" {
		return env, chat.Errorf(chat.CodeBadRequest, "type is required")
	}
	if !isNull(raw.Payload) {
		env.Payload = raw.Payload
	}
	return env, nil
}

// Validator is implemented by payloads that check their own fields.
type Validator interface {
	Validate() error
}

// DecodePayload unmarshals raw into v and validates it. A missing payload
// decodes as {}. Errors are *chat.Error with code bad_request (or too_large
// for over-long text).
func DecodePayload(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return chat.Errorf(chat.CodeBadRequest, "bad payload: %s", jsonError(err))
	}
	if val, ok := v.(Validator); ok {
		return val.Validate()
	}
	return nil
}

// Encode returns the frame for a server event: the bytes json.Marshal
// gives for the Envelope, written around the payload directly, since
// marshalling the Envelope would scan the payload, compact JSON already,
// once more (a third of the cost of a message frame, and of a history page).
func Encode(typ, id string, payload any) ([]byte, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return AppendFrame(make([]byte, 0, len(p)+len(typ)+len(id)+32), typ, id, p), nil
}

// AppendFrame appends the frame Encode gives for a payload already encoded
// as compact JSON (p) to b: a payload shared by many frames (a history page
// many clients asked for) is encoded once and copied as it is.
func AppendFrame(b []byte, typ, id string, p []byte) []byte {
	return append(append(AppendFrameHead(b, typ, id), p...), '}')
}

// AppendFrameHead appends a frame's envelope up to its payload to b: the
// caller appends the payload's JSON and the closing '}', for a payload
// encoded straight into the frame (the welcome).
func AppendFrameHead(b []byte, typ, id string) []byte {
	b = chat.AppendJSONString(append(b, `{"type":`...), typ)
	if id != "" {
		b = chat.AppendJSONString(append(b, `,"id":`...), id)
	}
	return append(b, `,"payload":`...)
}

// AppendMessageAck appends the ack of a send_message with request id id
// whose message is encoded as msg (chat.Message.AppendJSON) to b: the
// frame Encode(TypeAck, id, MessageAck{...}) gives, without encoding the
// message again.
func AppendMessageAck(b []byte, id string, msg []byte) []byte {
	b = append(b, `{"type":"ack"`...)
	if id != "" {
		b = chat.AppendJSONString(append(b, `,"id":`...), id)
	}
	b = append(append(b, `,"payload":{"message":`...), msg...)
	return append(b, "}}"...)
}

// ErrorPayload is the payload of an error frame.
type ErrorPayload struct {
	Code    chat.Code `json:"code"`
	Message string    `json:"message"`
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// jsonError shortens encoding/json's messages, which name Go types.
func jsonError(err error) string {
	switch e := err.(type) {
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return fmt.Sprintf("field %q has the wrong type (%s)", e.Field, e.Value)
		}
		return fmt.Sprintf("wrong JSON type (%s)", e.Value)
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at offset %d", e.Offset)
	}
	return "invalid JSON"
}
