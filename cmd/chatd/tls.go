package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// certificate is the server's TLS certificate, read from its files at
// start and again on SIGHUP (after a renewal), without a restart: new
// handshakes get the new one, and connections already open, WebSockets
// included, keep going.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger
	current           atomic.Pointer[tls.Certificate]
}

// loadCertificate reads the certificate and key; an error here fails the
// start.
func loadCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.reload(); err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
	}
	return c, nil
}

// reload reads the files again and swaps the certificate in. A pair that
// does not load (half written, a key that does not match) leaves the one
// in use in place.
func (c *certificate) reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.current.Store(&pair)
	if leaf := pair.Leaf; leaf != nil {
		c.log.Info("tls certificate loaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.Format(time.RFC3339))
	}
	return nil
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// reloadOnHUP reloads the certificate on each SIGHUP until the returned
// stop is called.
func (c *certificate) reloadOnHUP() (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-hup:
				if err := c.reload(); err != nil {
					c.log.Error("tls certificate not reloaded; the previous one stays in use", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}

// tlsConfig is a modern server configuration: TLS 1.2 at least, Go's
// default cipher suites (forward secret AEADs only, in Go's order) and
// curves, and the certificate from c. http.Server.ServeTLS adds ALPN for
// HTTP/2 and HTTP/1.1: the API and the web app's files go over HTTP/2,
// and WebSockets over HTTP/1.1 connections of their own, as browsers open
// them. (The WebSocket upgrade needs to take over the connection, which
// HTTP/2 cannot give; Go's HTTP/2 server does not offer WebSockets over
// HTTP/2, RFC 8441, unless GODEBUG=http2xconnect=1, which chatd refuses.)
func tlsConfig(c *certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}

// serve serves srv on ln, with TLS if cert is set.
func serve(srv *http.Server, ln net.Listener, cert *certificate) error {
	if cert == nil {
		return srv.Serve(ln)
	}
	srv.TLSConfig = tlsConfig(cert)
	return srv.ServeTLS(ln, "", "")
}

// redirector is the plain-HTTP listener of --redirect-addr: it answers
// every request with a redirect to the same URL over https, on the port
// of the TLS listener (omitted when it is 443).
type redirector struct {
	srv *http.Server
	ln  net.Listener
}

func listenRedirect(addr, tlsAddr string, log *slog.Logger) (*redirector, error) {
	_, port, err := net.SplitHostPort(tlsAddr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--redirect-addr: %w", err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "no Host: use https", http.StatusBadRequest)
			return
		}
		if port != "443" {
			host = net.JoinHostPort(host, port)
		}
		// 308 keeps the method and body, where 301 lets clients turn a
		// POST into a GET.
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
	rd := &redirector{
		ln: ln,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
	}
	go rd.srv.Serve(ln)
	log.Info("redirecting plain HTTP to https", "addr", ln.Addr().String())
	return rd, nil
}

// close stops the redirector at once: a redirect is answered as soon as
// its request is read, so there is nothing to drain (and a client that
// sends its request slowly must not hold up a shutdown).
func (rd *redirector) close() { rd.srv.Close() }

// checkTLSFlags checks the TLS flags of c together, and the environment
// they meet (godebug: $GODEBUG).
func checkTLSFlags(c config, godebug string) error {
	switch {
	case c.tlsCert != "" && strings.Contains(godebug, "http2xconnect=1"):
		return errors.New("GODEBUG=http2xconnect=1 lets browsers open WebSockets over HTTP/2, which chatd cannot serve; leave it out")
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case c.redirectAddr != "" && c.tlsCert == "":
		return errors.New("--redirect-addr redirects to https: it needs --tls-cert and --tls-key")
	}
	return nil
}
