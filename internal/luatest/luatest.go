// Package luatest checks a package's Lua scripts for the tests of the packages that own them
// (edge/store, watcher/feed): every script is a file under lua/ whose header documents its
// KEYS, ARGV, return value and slot, loaded exactly once by the package's scripts.go, and no Go
// file of the package holds an inline script.
package luatest

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

var inline = regexp.MustCompile("redis\\.NewScript\\(\x60")

// CheckHeaders runs the checks on the package in the test's working directory, whose
// embedded scripts are files.
func CheckHeaders(t *testing.T, files fs.FS) {
	t.Helper()
	names, err := fs.Glob(files, "lua/*.lua")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded scripts: %v", err)
	}
	src, err := os.ReadFile("scripts.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range names {
		b, _ := fs.ReadFile(files, f)
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
