package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMECommandsExist keeps the commands of README.md and docs/*.md from rotting: every `go run ./edge …`,
// `go run ./watcher …` and `go run ./demo/devchain …` line in its shell examples names a real
// subcommand whose usage lists every flag the line passes, and every `make` target it mentions
// exists. (What the commands do is tested elsewhere: the signing and webhook recipes run
// verbatim in readme_test.go, the operator endpoints in ops_test.go, the dev chain commands in
// demo/devchain, the merchant commands in edge, the demo in demo_test.go.)
func TestREADMECommandsExist(t *testing.T) {
	var readme []byte
	docs, _ := filepath.Glob("../docs/*.md")
	for _, f := range append([]string{"../README.md"}, docs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		readme = append(append(readme, b...), '\n')
	}
	bin := binaries(t)
	devBin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", devBin+"/", "github.com/mpchat/checkout/demo/devchain").CombinedOutput(); err != nil {
		t.Fatalf("go build devchain: %v\n%s", err, out)
	}
	// The package path each README line runs, and the binary that answers for it.
	commands := map[string]string{
		"./edge":          filepath.Join(bin, "edge"),
		"./watcher":       filepath.Join(bin, "watcher"),
		"./demo/devchain": filepath.Join(devBin, "devchain"),
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	checked := 0
	for _, b := range blocks {
		for _, line := range strings.Split(b[1], "\n") {
			line, _, _ = strings.Cut(line, "#")
			f := strings.Fields(line)
			if len(f) < 4 || f[0] != "go" || f[1] != "run" || commands[f[2]] == "" {
				continue
			}
			self := filepath.Base(f[2]) // the command's name in its usage
			cmd := []string{f[3]}
			rest := f[4:]
			if f[3] == "merchant" && len(rest) > 0 { // edge merchant <action>
				cmd, rest = append(cmd, rest[0]), rest[1:]
			}
			out, _ := exec.Command(commands[f[2]], append(cmd, "-h")...).CombinedOutput()
			usage := string(out)
			name := strings.Join(cmd, " ")
			if !strings.HasPrefix(usage, "Usage of "+name) && !strings.HasPrefix(usage, "usage: "+self+" "+name) {
				t.Errorf("README line %q: %s %s is not a command (%q)", line, f[2], strings.Join(cmd, " "), firstLine(usage))
				continue
			}
			for _, a := range rest {
				if name, ok := strings.CutPrefix(a, "--"); ok {
					name, _, _ = strings.Cut(name, "=")
					if !strings.Contains(usage, "\n  -"+name+" ") && !strings.Contains(usage, "\n  -"+name+"\n") {
						t.Errorf("README line %q: %s %s has no flag --%s", line, f[2], strings.Join(cmd, " "), name)
					}
				}
			}
			checked++
		}
	}
	if checked < 5 {
		t.Fatalf("only %d README command lines found: did the examples move?", checked)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile("`make ([a-z]+)").FindAllStringSubmatch(string(readme), -1) {
		targets[m[1]] = true
	}
	for target := range targets {
		if out, err := exec.Command("make", "-C", "..", "-n", target).CombinedOutput(); err != nil {
			t.Errorf("README names `make %s`, which make does not know: %s", target, out)
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
