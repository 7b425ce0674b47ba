package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost, its
// own root.
type testCert struct {
	certPEM, keyPEM []byte
	der             []byte
}

func newTestCert(t *testing.T, name string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		der:     der,
	}
}

// write puts the certificate and key into dir's cert.pem and key.pem, each
// replaced whole (as a renewal tool does), and returns their paths.
func (c testCert) write(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, data := range map[string][]byte{certFile: c.certPEM, keyFile: c.keyPEM} {
		if err := os.WriteFile(name+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func (c testCert) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(c.certPEM)
	return p
}

// httpsClient trusts c and speaks HTTP/2 when the server offers it.
func (c testCert) httpsClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.pool()}, ForceAttemptHTTP2: true},
		Timeout:   10 * time.Second,
	}
}

// servedCert returns the certificate a new handshake with addr gets.
func servedCert(t *testing.T, addr string) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("tls handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// logField returns the value of key in the first text log line that has
// msg.
func logField(log, msg, key string) string {
	for line := range strings.Lines(log) {
		if !strings.Contains(line, `msg="`+msg+`"`) {
			continue
		}
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, key+"="); ok {
				return v
			}
		}
	}
	return ""
}

// registerOver registers name with client and returns the response (its
// body read) and the token.
func registerOver(t *testing.T, client *http.Client, base, name string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Post(base+"/api/register", "application/json",
		strings.NewReader(`{"username":"`+name+`","password":"password-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusCreated || out.Token == "" {
		t.Fatalf("register %s: %d %s", name, resp.StatusCode, body)
	}
	return resp, out.Token
}

// startTLS runs chatd with a new certificate, and a redirect listener.
func startTLS(t *testing.T) (*instance, testCert, string) {
	t.Helper()
	cert := newTestCert(t, "first")
	certDir := t.TempDir()
	certFile, keyFile := cert.write(t, certDir)
	in := start(t, []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--rate-limit", "0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--redirect-addr", "127.0.0.1:0"}, nil)
	return in, cert, certDir
}

func TestTLS(t *testing.T) {
	in, cert, _ := startTLS(t)
	client := cert.httpsClient()
	base := "https://" + in.addr

	var token string
	t.Run("https API over HTTP/2, Secure cookie", func(t *testing.T) {
		var resp *http.Response
		resp, token = registerOver(t, client, base, "alice")
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("register answered over %s, want HTTP/2.0", resp.Proto)
		}
		if v := resp.TLS.Version; v < tls.VersionTLS12 {
			t.Errorf("TLS version %x, want 1.2 or newer", v)
		}
		cookies := resp.Cookies()
		if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly {
			t.Errorf("session cookie over TLS: %+v, want Secure and HttpOnly", cookies)
		}
		resp, err := client.Get(base + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" {
			t.Errorf("GET /readyz over https: %v, %v", resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	})

	t.Run("wss", func(t *testing.T) {
		if token == "" {
			t.Skip("no account")
		}
		// Like a browser's WebSocket: its own connection, HTTP/1.1 by ALPN.
		dialer := &websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: cert.pool()}, HandshakeTimeout: 5 * time.Second}
		ws, err := chatdtest.DialURL(t, "wss://"+in.addr+"/ws", token, nil, dialer)
		if err != nil {
			t.Fatalf("wss dial: %v", err)
		}
		ws.Welcome()
		ws.Ack("send_message", map[string]string{"room": "general", "text": "over wss"}, nil)
		ws.Expect("new_message", nil)
	})

	t.Run("no TLS 1.1, no plain HTTP", func(t *testing.T) {
		_, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: cert.pool(), MaxVersion: tls.VersionTLS11})
		if err == nil {
			t.Error("a TLS 1.1 handshake succeeded, want it refused")
		}
		resp, err := http.Get("http://" + in.addr + "/healthz")
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP on the TLS port answered 200")
		}
	})

	t.Run("redirect listener", func(t *testing.T) {
		addr := logField(in.stderr.String(), "redirecting plain HTTP to https", "addr")
		if addr == "" {
			t.Fatalf("no redirect listener in the log:\n%s", in.stderr)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Post("http://"+addr+"/api/rooms/general/messages?x=1", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, port, _ := net.SplitHostPort(in.addr)
		want := "https://127.0.0.1:" + port + "/api/rooms/general/messages?x=1"
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Errorf("plain HTTP: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	})

	// A browser opens WebSockets over HTTP/2 only if the server's SETTINGS
	// offer extended CONNECT (RFC 8441), which chatd cannot serve (the
	// upgrade takes the connection over). Without the offer, it opens a
	// separate HTTP/1.1 connection, as the wss test does.
	t.Run("no WebSockets over HTTP/2 offered", func(t *testing.T) {
		conn, err := tls.Dial("tcp", in.addr, &tls.Config{RootCAs: cert.pool(), NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Fatalf("ALPN chose %q for a client offering h2, want h2", p)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		// The client preface and an empty SETTINGS frame.
		conn.Write(append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0))
		for {
			var hdr [9]byte
			if _, err := io.ReadFull(conn, hdr[:]); err != nil {
				t.Fatalf("read the server's SETTINGS: %v", err)
			}
			n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
			payload := make([]byte, n)
			if _, err := io.ReadFull(conn, payload); err != nil {
				t.Fatal(err)
			}
			if hdr[3] != 4 || hdr[4]&1 != 0 { // not SETTINGS, or its ACK
				continue
			}
			for i := 0; i+6 <= n; i += 6 {
				id, v := binary.BigEndian.Uint16(payload[i:]), binary.BigEndian.Uint32(payload[i+2:])
				if id == 8 && v == 1 {
					t.Errorf("the server offers SETTINGS_ENABLE_CONNECT_PROTOCOL: browsers would try WebSockets over HTTP/2")
				}
			}
			return
		}
	})
}

// SIGHUP re-reads the certificate: new handshakes get the new one, an open
// WebSocket stays open, and a pair that does not load leaves the one in use.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	in, first, certDir := startTLS(t)
	_, token := registerOver(t, first.httpsClient(), "https://"+in.addr, "alice")
	dialer := &websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: first.pool()}}
	ws, err := chatdtest.DialURL(t, "wss://"+in.addr+"/ws", token, nil, dialer)
	if err != nil {
		t.Fatal(err)
	}
	ws.Welcome()

	second := newTestCert(t, "second")
	second.write(t, certDir)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Equal(servedCert(t, in.addr), second.der) {
		if time.Now().After(deadline) {
			t.Fatalf("still the first certificate 5 s after SIGHUP\n%s", in.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ws.Ack("send_message", map[string]string{"room": "general", "text": "still open after the reload"}, nil)

	// A half-written renewal: the key does not match the certificate.
	third := newTestCert(t, "third")
	if err := os.WriteFile(filepath.Join(certDir, "cert.pem"), third.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for !strings.Contains(in.stderr.String(), "tls certificate not reloaded") {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatalf("no error logged for a bad certificate\n%s", in.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !bytes.Equal(servedCert(t, in.addr), second.der) {
		t.Error("after a failed reload the server does not serve the previous certificate")
	}
	ws.Ack("send_message", map[string]string{"room": "general", "text": "and after a failed one"}, nil)
}

func TestTLSFlags(t *testing.T) {
	cert := newTestCert(t, "x")
	certFile, keyFile := cert.write(t, t.TempDir())
	for _, tt := range []struct {
		args    []string
		godebug string
		mention string
	}{
		{[]string{"--tls-cert", certFile}, "", "--tls-key"},
		{[]string{"--tls-key", keyFile}, "", "--tls-cert"},
		{[]string{"--redirect-addr", ":0"}, "", "--redirect-addr"},
		{[]string{"--tls-cert", keyFile, "--tls-key", keyFile}, "", "--tls-cert"},
		{[]string{"--tls-cert", certFile, "--tls-key", keyFile}, "http2xconnect=1", "http2xconnect"},
	} {
		args := append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, args, env(map[string]string{"GODEBUG": tt.godebug}), io.Discard, io.Discard, func(string) { cancel() })
		cancel()
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("run %q (GODEBUG=%s) = %v, want an error that mentions %s", tt.args, tt.godebug, err, tt.mention)
		}
	}
}

// A real browser loads the page over HTTP/2 and opens its WebSocket, as
// the web app does, over wss.
func TestTLSBrowser(t *testing.T) {
	path := chatdtest.Env(t, "CHATD_CHROMIUM", "the TLS browser test")
	in, _, _ := startTLS(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // the test's own certificate
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(ctx, chromedp.Navigate("https://"+in.addr+"/")); err != nil {
		t.Fatalf("load the page over https: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const nav = performance.getEntriesByType('navigation')[0].nextHopProtocol;
		const r = await fetch('/api/register', {method: 'POST', headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({username: 'browser', password: 'password-1'})});
		if (r.status !== 201) return 'register answered ' + r.status;
		const ws = new WebSocket('wss://' + location.host + '/ws');
		const reply = await new Promise((resolve) => {
			ws.onmessage = (ev) => {
				const f = JSON.parse(ev.data);
				if (f.type === 'welcome') ws.send(JSON.stringify({type: 'send_message', id: 'b1', payload: {room: 'general', text: 'from the browser'}}));
				else if (f.id === 'b1') resolve(f.type);
			};
			ws.onclose = (ev) => resolve('closed ' + ev.code);
			setTimeout(() => resolve('no reply'), 10000);
		});
		ws.close();
		return nav + ' ' + reply;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != "h2 ack" {
		t.Errorf("page protocol and send over wss: %q, want \"h2 ack\"", got)
	}
}
