package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestDocFlagTables keeps docs/operating.md's flag tables and the commands in step: every flag
// a command prints with -h (edge serve, each edge merchant and edge user command, edge audit,
// edge export, edge tx, watcher run and rescan, devchain run and pay, nodeproxy, the demo) is in
// the table under that command's heading, and every flag in a table is one the command has.
func TestDocFlagTables(t *testing.T) {
	doc, err := os.ReadFile("../docs/operating.md")
	if err != nil {
		t.Fatal(err)
	}
	bin := binaries(t)
	extra := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", extra+"/", "github.com/mpchat/checkout/demo/devchain",
		"github.com/mpchat/checkout/demo/nodeproxy", "github.com/mpchat/checkout/demo").CombinedOutput(); err != nil {
		t.Fatalf("go build devchain, nodeproxy, demo: %v\n%s", err, out)
	}
	helpFlags := func(path string, args ...string) map[string]bool {
		out, _ := exec.Command(path, append(args, "-h")...).CombinedOutput() // -h exits non-zero
		flags := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
			flags[m[1]] = true
		}
		if len(flags) == 0 && path != filepath.Join(bin, "edge") {
			t.Fatalf("%s %v -h lists no flags:\n%s", path, args, out)
		}
		return flags
	}
	// The commands, each with the flags its -h prints.
	have := map[string]map[string]bool{
		"edge serve":     helpFlags(filepath.Join(bin, "edge"), "serve"),
		"edge export":    helpFlags(filepath.Join(bin, "edge"), "export"),
		"edge tx":        helpFlags(filepath.Join(bin, "edge"), "tx"),
		"watcher run":    helpFlags(filepath.Join(bin, "watcher"), "run"),
		"watcher rescan": helpFlags(filepath.Join(bin, "watcher"), "rescan"),
		"devchain run":   helpFlags(filepath.Join(extra, "devchain"), "run"),
		"devchain pay":   helpFlags(filepath.Join(extra, "devchain"), "pay"),
		"nodeproxy":      helpFlags(filepath.Join(extra, "nodeproxy")),
		"demo":           helpFlags(filepath.Join(extra, "demo")),
	}
	out, _ := exec.Command(filepath.Join(bin, "edge"), "merchant", "-h").CombinedOutput()
	var merchantCmds []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) `).FindAllStringSubmatch(string(out), -1) {
		merchantCmds = append(merchantCmds, m[1])
		have["edge merchant "+m[1]] = helpFlags(filepath.Join(bin, "edge"), "merchant", m[1])
	}
	if len(merchantCmds) < 10 {
		t.Fatalf("edge merchant -h lists only %v", merchantCmds)
	}
	have["edge audit"] = helpFlags(filepath.Join(bin, "edge"), "audit")
	out, _ = exec.Command(filepath.Join(bin, "edge"), "user", "-h").CombinedOutput()
	var userCmds []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) `).FindAllStringSubmatch(string(out), -1) {
		userCmds = append(userCmds, m[1])
		have["edge user "+m[1]] = helpFlags(filepath.Join(bin, "edge"), "user", m[1])
	}
	if len(userCmds) < 4 {
		t.Fatalf("edge user -h lists only %v", userCmds)
	}
	// Command groups whose flag tables say which commands a flag belongs to.
	groups := map[string][]string{"edge merchant": merchantCmds, "edge user": userCmds}

	documented := map[string]map[string]bool{}
	tick := regexp.MustCompile("`([^`]+)`")
	flagRE := regexp.MustCompile("`--?([a-z0-9][a-z0-9-]*)`")
	heading, inFence := "", false
	var columns []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(line, "#") {
			heading, columns = "", nil
			if m := tick.FindStringSubmatch(line); m != nil {
				heading = m[1]
			}
			continue
		}
		if !strings.HasPrefix(line, "|") {
			columns = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if columns == nil {
			if cells[0] == "flag" {
				columns = cells
			}
			continue
		}
		if strings.HasPrefix(cells[0], "---") || columns[0] != "flag" {
			continue
		}
		var cmds []string
		switch {
		case groups[heading] != nil:
			col := -1
			for i, c := range columns {
				if c == "commands" {
					col = i
				}
			}
			if col < 0 || col >= len(cells) {
				t.Errorf("%s flag row without a commands column: %q", heading, line)
				continue
			}
			if cells[col] == "all" {
				cmds = append(cmds, groups[heading]...)
			}
			for _, m := range tick.FindAllStringSubmatch(cells[col], -1) {
				cmds = append(cmds, m[1])
			}
			for i := range cmds {
				cmds[i] = heading + " " + cmds[i]
			}
		case have[heading] != nil:
			cmds = []string{heading}
		default:
			t.Errorf("flag table under a heading that names no command (%q): %q", heading, line)
			continue
		}
		flags := flagRE.FindAllStringSubmatch(cells[0], -1)
		if len(flags) == 0 {
			t.Errorf("flag row names no flag: %q", line)
		}
		for _, c := range cmds {
			if have[c] == nil {
				t.Errorf("docs/operating.md names %q, which is no command", c)
				continue
			}
			if documented[c] == nil {
				documented[c] = map[string]bool{}
			}
			for _, f := range flags {
				if !have[c][f[1]] {
					t.Errorf("docs/operating.md lists -%s for %s, which has no such flag", f[1], c)
				}
				documented[c][f[1]] = true
			}
		}
	}
	cmds := make([]string, 0, len(have))
	for c := range have {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	for _, c := range cmds {
		for f := range have[c] {
			if !documented[c][f] {
				t.Errorf("%s has the flag -%s, which docs/operating.md's flag tables lack", c, f)
			}
		}
	}
}
