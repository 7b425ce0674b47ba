package server_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/chatdtest"
	"github.com/chatd/chatd/web"
)

// rawGet sends a request as a client that does not decompress on its own,
// so the test sees the bytes on the wire.
func rawGet(tb testing.TB, srv *chatdtest.Server, method, path string, header ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity") // the default; a header below may replace it
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, body
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("bad gzip: %v", err)
	}
	return out
}

func embedded(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := fs.ReadFile(web.FS, name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// wantSecurityHeaders checks the headers every answer of the web app
// carries, whatever its status.
func wantSecurityHeaders(tb testing.TB, what string, resp *http.Response) {
	tb.Helper()
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		tb.Errorf("%s: Content-Security-Policy %q", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		tb.Errorf("%s: X-Content-Type-Options %q Referrer-Policy %q", what, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
	}
	if cc := h.Get("Cache-Control"); cc != "no-cache" {
		tb.Errorf("%s: Cache-Control %q, want no-cache", what, cc)
	}
}

func TestStaticGzip(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	for _, tc := range []struct{ path, file, contentType string }{
		{"/", "index.html", "text/html"},
		{"/js/app.js", "js/app.js", "text/javascript"},
		{"/css/app.css", "css/app.css", "text/css"},
	} {
		want := embedded(t, tc.file)
		resp, body := rawGet(t, srv, "GET", tc.path, "Accept-Encoding", "br, gzip;q=0.8, deflate")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", tc.path, resp.StatusCode)
		}
		wantSecurityHeaders(t, "GET "+tc.path, resp)
		if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
			t.Errorf("GET %s accepting gzip: Content-Encoding %q, want gzip", tc.path, ce)
			continue
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("GET %s: Vary %q, want Accept-Encoding", tc.path, resp.Header.Get("Vary"))
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.contentType)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
			t.Errorf("GET %s: Content-Length %s for %d bytes", tc.path, cl, len(body))
		}
		if got := gunzip(t, body); !bytes.Equal(got, want) {
			t.Errorf("GET %s: gzip body decodes to %d bytes that are not the file (%d bytes)", tc.path, len(got), len(want))
		}
		if len(body) >= len(want) {
			t.Errorf("GET %s: %d bytes gzipped, not less than the file's %d", tc.path, len(body), len(want))
		}

		// A client that does not accept gzip gets the file as it is.
		for _, ae := range []string{"", "identity", "gzip;q=0", "br", "*;q=0"} {
			resp, body := rawGet(t, srv, "GET", tc.path, "Accept-Encoding", ae)
			if ce := resp.Header.Get("Content-Encoding"); ce != "" || !bytes.Equal(body, want) {
				t.Errorf("GET %s with Accept-Encoding %q: Content-Encoding %q and %d bytes, want the plain file (%d bytes)",
					tc.path, ae, ce, len(body), len(want))
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s with Accept-Encoding %q: Vary %q, want Accept-Encoding", tc.path, ae, resp.Header.Get("Vary"))
			}
		}
	}
}

func TestStaticETag(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	for _, ae := range []string{"gzip", "identity"} {
		first, body := rawGet(t, srv, "GET", "/js/app.js", "Accept-Encoding", ae)
		etag := first.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
			t.Fatalf("%s: ETag %q, want a strong quoted tag", ae, etag)
		}
		again, _ := rawGet(t, srv, "GET", "/js/app.js", "Accept-Encoding", ae)
		if got := again.Header.Get("ETag"); got != etag {
			t.Errorf("%s: ETag changed between two loads: %q then %q", ae, etag, got)
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			resp, b := rawGet(t, srv, "GET", "/js/app.js", "Accept-Encoding", ae, "If-None-Match", inm)
			if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
				t.Errorf("%s: If-None-Match %s: status %d with %d bytes, want 304 and no body", ae, inm, resp.StatusCode, len(b))
			}
			if resp.Header.Get("ETag") != etag {
				t.Errorf("%s: 304 carries ETag %q, want %q", ae, resp.Header.Get("ETag"), etag)
			}
			wantSecurityHeaders(t, ae+" 304", resp)
		}
		resp, b := rawGet(t, srv, "GET", "/js/app.js", "Accept-Encoding", ae, "If-None-Match", `"stale"`)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, body) {
			t.Errorf("%s: If-None-Match of another version: status %d, %d bytes, want 200 and the file", ae, resp.StatusCode, len(b))
		}
	}
	// Each encoding is a representation of its own, with a tag of its own;
	// files with different content have different tags.
	gz, _ := rawGet(t, srv, "GET", "/js/app.js", "Accept-Encoding", "gzip")
	plain, _ := rawGet(t, srv, "GET", "/js/app.js")
	css, _ := rawGet(t, srv, "GET", "/css/app.css")
	if gz.Header.Get("ETag") == plain.Header.Get("ETag") || plain.Header.Get("ETag") == css.Header.Get("ETag") {
		t.Errorf("ETags gzip %q, identity %q, app.css %q: want three different tags",
			gz.Header.Get("ETag"), plain.Header.Get("ETag"), css.Header.Get("ETag"))
	}
	if resp, _ := rawGet(t, srv, "GET", "/js/app.js", "Accept-Encoding", "gzip", "If-None-Match", plain.Header.Get("ETag")); resp.StatusCode != http.StatusOK {
		t.Errorf("the identity tag revalidated a gzip request: status %d, want 200", resp.StatusCode)
	}
}

func TestStaticHeadIndexAndMissing(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	get, getBody := rawGet(t, srv, "GET", "/", "Accept-Encoding", "gzip")
	head, headBody := rawGet(t, srv, "HEAD", "/", "Accept-Encoding", "gzip")
	if head.StatusCode != http.StatusOK || len(headBody) != 0 {
		t.Errorf("HEAD /: status %d with %d bytes of body, want 200 and none", head.StatusCode, len(headBody))
	}
	for _, k := range []string{"Content-Length", "Content-Type", "Content-Encoding", "ETag", "Vary"} {
		if head.Header.Get(k) != get.Header.Get(k) {
			t.Errorf("HEAD / %s %q, GET has %q", k, head.Header.Get(k), get.Header.Get(k))
		}
	}
	wantSecurityHeaders(t, "HEAD /", head)
	if !bytes.Equal(gunzip(t, getBody), embedded(t, "index.html")) {
		t.Error("GET / is not index.html")
	}

	resp, _ := rawGet(t, srv, "GET", "/index.html")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/" {
		t.Errorf("GET /index.html: status %d Location %q, want 301 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/nope.js", "/js/", "/js", "/index.htm", "/static/index.html"} {
		resp, _ := rawGet(t, srv, "GET", p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, resp.StatusCode)
		}
		wantSecurityHeaders(t, "GET "+p, resp)
	}
}

// TestStaticConcurrentFirstLoads: many first requests at once (a page
// load fetches every file together) all get the same, whole file; -race
// checks the cache.
func TestStaticConcurrentFirstLoads(t *testing.T) {
	srv := chatdtest.Start(t, chatdtest.Options{})
	want := embedded(t, "js/app.js")
	var wg sync.WaitGroup
	etags := make([]string, 16)
	bodies := make([][]byte, len(etags))
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for i := range etags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+"/js/app.js", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			etags[i] = resp.Header.Get("ETag")
			bodies[i], _ = io.ReadAll(resp.Body)
		}()
	}
	wg.Wait()
	for i, b := range bodies {
		if !bytes.Equal(gunzip(t, b), want) {
			t.Errorf("request %d: body is not app.js", i)
		}
	}
	for i, e := range etags {
		if e != etags[0] {
			t.Errorf("request %d: ETag %q, request 0 had %q", i, e, etags[0])
		}
	}
}
