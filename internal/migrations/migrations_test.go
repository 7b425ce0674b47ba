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
