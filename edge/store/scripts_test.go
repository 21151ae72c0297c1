package store

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestScriptHeaders: every Lua file documents its KEYS, ARGV, return value and slot, and is
// loaded by exactly one script in scripts.go (no inline scripts elsewhere).
func TestScriptHeaders(t *testing.T) {
	files, err := fs.Glob(luaFiles, "lua/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no embedded scripts: %v", err)
	}
	src, err := os.ReadFile("scripts.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, _ := luaFiles.ReadFile(f)
		body := string(b)
		for _, want := range []string{"\n-- KEYS", "\n-- ARGV", "\n-- Returns", "\n-- Slot: "} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: header lacks %q", f, strings.TrimSpace(want))
			}
		}
		name := strings.TrimSuffix(strings.TrimPrefix(f, "lua/"), ".lua")
		if n := strings.Count(string(src), "script(\""+name+"\")"); n != 1 {
			t.Errorf("%s loaded %d times in scripts.go, want 1", f, n)
		}
	}
	inline := regexp.MustCompile("redis\\.NewScript\\(\x60")
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, _ := os.ReadFile(e.Name())
		if inline.Match(b) {
			t.Errorf("%s holds an inline Lua script; put it in lua/", e.Name())
		}
	}
}
