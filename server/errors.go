package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/chatd/chatd/chat"
)

// httpStatus maps each protocol error code to its HTTP status: the one
// place where domain errors meet HTTP.
var httpStatus = map[chat.Code]int{
	chat.CodeBadRequest:   http.StatusBadRequest,
	chat.CodeUnknownType:  http.StatusBadRequest,
	chat.CodeUnauthorized: http.StatusUnauthorized,
	chat.CodeForbidden:    http.StatusForbidden,
	chat.CodeNotFound:     http.StatusNotFound,
	chat.CodeConflict:     http.StatusConflict,
	chat.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	chat.CodeRateLimited:  http.StatusTooManyRequests,
	chat.CodeUnavailable:  http.StatusServiceUnavailable,
	chat.CodeInternal:     http.StatusInternalServerError,
}

type errorBody struct {
	Error struct {
		Code    chat.Code `json:"code"`
		Message string    `json:"message"`
	} `json:"error"`
}

// writeError answers with {"error":{"code","message"}} and the status of the
// error's code. Internal errors are logged (store failures by
// storeFailures, rate-limited) and not shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := chat.ErrorCode(err)
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away (in a reconnect storm, thousands of dials
		// that gave up waiting): not the server's failure.
		s.log.Debug("request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
	case (code == chat.CodeInternal || code == chat.CodeUnavailable) && !errors.As(err, new(reportedError)):
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = chat.ErrorMessage(err)
	status := httpStatus[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, body)
}

// writeJSONStatus answers with the error body for a status that has no
// protocol code (405).
func (s *Server) writeJSONStatus(w http.ResponseWriter, status int, code chat.Code, message string) {
	var body errorBody
	body.Error.Code = code
	body.Error.Message = message
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// maxBodyBytes bounds JSON request bodies.
const maxBodyBytes = 64 << 10

// readJSON decodes a request body into v, mapping every failure to a
// bad_request (or too_large) chat error.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return chat.Errorf(chat.CodeTooLarge, "body is larger than %d bytes", maxBodyBytes)
		}
		return chat.Errorf(chat.CodeBadRequest, "body must be a JSON object: %v", err)
	}
	return nil
}
