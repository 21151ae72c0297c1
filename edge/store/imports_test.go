package store

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// redisImporters are the module's packages whose code may import go-redis: the edge's store,
// the watcher's feed writer, and the helpers that open clients (redisconn) and test servers
// (redistest). Everything else reaches Redis through them.
var redisImporters = map[string]bool{
	"edge/store":         true,
	"watcher/feed":       true,
	"internal/redisconn": true,
	"internal/redistest": true,
}

// TestOnlyTheStoreImportsRedis parses every non-test Go file of the module and fails if a
// package other than redisImporters imports go-redis. Test files are exempt (they drive and
// fault a real Redis: list and kill connections, write raw entries), and so are the bench/
// programs, which measure Redis itself (round trips per request, connections per stream).
func TestOnlyTheStoreImportsRedis(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	offenders := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if redisImporters[pkg] || pkg == "bench" || strings.HasPrefix(pkg, "bench/") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/redis/go-redis" || strings.HasPrefix(p, "github.com/redis/go-redis/") {
				offenders[pkg] = append(offenders[pkg], filepath.Base(path))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pkgs := make([]string, 0, len(offenders))
	for p := range offenders {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		t.Errorf("%s imports go-redis (%s); only %v may: go through edge/store", p, strings.Join(offenders[p], ", "), sortedNames(redisImporters))
	}
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
