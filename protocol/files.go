package protocol

import "github.com/chatd/chatd/chat"

// FileAck answers POST /api/rooms/{room}/files (issue 9): the stored
// upload, whose id a send_message then names in attachments.
type FileAck struct {
	File chat.Attachment `json:"file"`
}
