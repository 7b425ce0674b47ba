//go:build !linux

package main

import (
	"errors"
	"time"
)

// readPolled is Linux only: elsewhere every connection has a reader
// goroutine.
func readPolled(*wsConn, func(time.Time, []byte), func(error)) error {
	return errors.New("no poller on this system")
}

var errWouldBlock = errors.New("would block")
