//go:build !linux

package server

import "errors"

// poller is Linux only (epoll); elsewhere each connection has a goroutine
// that reads it.
type poller struct{}

var errNoPoller = errors.New("no epoll on this system")

func newPoller() (*poller, error)   { return nil, errNoPoller }
func (p *poller) add(c *conn) error { return errNoPoller }
func (p *poller) arm(c *conn) error { return errNoPoller }
func (p *poller) remove(c *conn)    {}
func (p *poller) close()            {}
