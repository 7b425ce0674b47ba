package chat

import (
	"errors"
	"fmt"
)

// Code is a protocol error code. The server maps each to an HTTP status in
// one table; the WebSocket protocol sends it as is.
type Code string

// The error codes of the wire contract.
const (
	CodeBadRequest   Code = "bad_request"
	CodeUnknownType  Code = "unknown_type"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeTooLarge     Code = "too_large"
	CodeRateLimited  Code = "rate_limited"
	CodeUnavailable  Code = "unavailable"
	CodeInternal     Code = "internal"
)

// Error is a domain error with a protocol code and a message that is safe to
// show to the client.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is(err, chat.ErrNotFound) match any *Error with that code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Message == ""
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is; they match every *Error of their code.
var (
	ErrBadRequest   = &Error{Code: CodeBadRequest}
	ErrUnauthorized = &Error{Code: CodeUnauthorized}
	ErrForbidden    = &Error{Code: CodeForbidden}
	ErrNotFound     = &Error{Code: CodeNotFound}
	ErrConflict     = &Error{Code: CodeConflict}
	ErrTooLarge     = &Error{Code: CodeTooLarge}
	ErrUnavailable  = &Error{Code: CodeUnavailable}
)

// ErrArchived is what writing to an archived room returns: an archived room
// keeps its history readable and takes no new messages and no edits.
// Membership is checked first, so a private room one is not in still
// answers ErrNotFound.
var ErrArchived = &Error{Code: CodeForbidden, Message: "room is archived: it is read-only"}

// ErrDisabled is what starting a session for a disabled account returns.
var ErrDisabled = &Error{Code: CodeForbidden, Message: "account is disabled"}

// ErrorCode returns the code of err: that of the first *Error in its chain,
// CodeInternal for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err. Errors without a code
// are internal and their text is not shown.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message == "" {
			return string(e.Code)
		}
		return e.Message
	}
	return "internal error"
}
