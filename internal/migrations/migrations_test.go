package migrations

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ok := fstest.MapFS{
		"m/0001_init.sql": {Data: []byte("CREATE TABLE a (x int);")},
		"m/0002_more.sql": {Data: []byte("CREATE TABLE b (y int);")},
	}
	ms, err := Load(ok, "m")
	if err != nil || len(ms) != 2 || ms[1].Version != 2 || ms[1].Name != "0002_more.sql" || ms[0].SQL != "CREATE TABLE a (x int);" {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":      {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"bad name": {"m/first.sql": {}},
		"not sql":  {"m/0001_a.txt": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
}

func TestLoadRequires(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("CREATE TABLE a (x int, y int);")},
		"m/0002_b.sql": {Data: []byte("ALTER TABLE a ADD COLUMN z int;")},
		"m/0003_c.sql": {Data: []byte("-- y is unused since version 2.\n-- requires: 2\nALTER TABLE a DROP COLUMN y;")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{0, 0, 2} {
		if ms[i].Requires != want {
			t.Errorf("%s: Requires = %d, want %d", ms[i].Name, ms[i].Requires, want)
		}
	}
	fsys["m/0003_c.sql"] = &fstest.MapFile{Data: []byte("-- requires: 3\n")}
	if _, err := Load(fsys, "m"); err == nil {
		t.Error("Load accepted a migration that requires itself")
	}
}

func TestPlan(t *testing.T) {
	ms := []Migration{{Version: 1}, {Version: 2}, {Version: 3}}
	for _, tt := range []struct{ current, pending int }{{0, 3}, {1, 2}, {3, 0}, {5, 0}} {
		st := Plan(ms, tt.current)
		if st.Current != tt.current || st.Known != 3 || len(st.Pending) != tt.pending {
			t.Errorf("Plan(%d) = %+v, want %d pending", tt.current, st, tt.pending)
		}
		if tt.pending > 0 && st.Pending[0].Version != tt.current+1 {
			t.Errorf("Plan(%d) starts at %d", tt.current, st.Pending[0].Version)
		}
	}
}
