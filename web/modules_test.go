package web_test

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"testing"

	"github.com/chatd/chatd/web"
)

var (
	importRE     = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;]*?from\s+'(\./[\w.-]+\.js)'|^\s*import\s+'(\./[\w.-]+\.js)'`)
	preloadRE    = regexp.MustCompile(`<link rel="modulepreload" href="/js/([\w.-]+\.js)">`)
	entryPointRE = regexp.MustCompile(`<script type="module" src="/js/([\w.-]+\.js)">`)
)

// TestModulePreloads: index.html preloads exactly the modules its entry
// point imports, directly or not, so a first load fetches them all at once
// instead of one import level per round trip; each one exists.
func TestModulePreloads(t *testing.T) {
	index, err := fs.ReadFile(web.FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	entry := entryPointRE.FindSubmatch(index)
	if entry == nil {
		t.Fatal("index.html has no module script")
	}
	imported := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		src, err := fs.ReadFile(web.FS, path.Join("js", name))
		if err != nil {
			t.Errorf("js/%s: %v", name, err)
			return
		}
		for _, m := range importRE.FindAllSubmatch(src, -1) {
			dep := path.Base(string(m[1]) + string(m[2]))
			if !imported[dep] {
				imported[dep] = true
				visit(dep)
			}
		}
	}
	visit(string(entry[1]))
	var want, got []string
	for name := range imported {
		want = append(want, name)
	}
	for _, m := range preloadRE.FindAllSubmatch(index, -1) {
		got = append(got, string(m[1]))
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) < 10 {
		t.Fatalf("found only %d modules imported by %s: %q", len(want), entry[1], want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("index.html preloads\n%q\nbut %s imports\n%q", got, entry[1], want)
	}
}
