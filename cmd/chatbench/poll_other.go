//go:build !linux

package main

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/gobwas/ws"
)

// dialPolled is Linux only: elsewhere dialWS dials through Go's netpoller.
func dialPolled(context.Context, *url.URL, ws.Dialer, int) (*wsConn, error) {
	return nil, errNotPollable
}

var errNotPollable = errors.New("no poller on this system")

// setupConn is never made outside Linux.
type setupConn struct{ conn }

func (*setupConn) run(*wsConn, func(time.Time, []byte), func(error)) {}

// readPolled is Linux only: elsewhere every connection has a reader
// goroutine.
func readPolled(*wsConn, func(time.Time, []byte), func(error)) error {
	return errors.New("no poller on this system")
}

var errWouldBlock = errors.New("would block")
