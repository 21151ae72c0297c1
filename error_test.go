package checkout

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeErrorTable reads the error table of docs/api.md: code → its row's status and type. Only a
// code at the top level of the codes cell counts (not one quoted inside an explanation).
func readmeErrorTable(t *testing.T) map[Code]codeClass {
	t.Helper()
	readme, err := os.ReadFile("docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `([a-z_]+)` \\| (.*) \\|$")
	tick := regexp.MustCompile("`([a-z_]+)`")
	got := map[Code]codeClass{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		status, _ := strconv.Atoi(m[1])
		var top strings.Builder
		depth := 0
		for _, r := range m[3] {
			switch {
			case r == '(':
				depth++
			case r == ')':
				depth--
			case depth == 0:
				top.WriteRune(r)
			}
		}
		for _, c := range tick.FindAllStringSubmatch(top.String(), -1) {
			if _, dup := got[Code(c[1])]; dup {
				t.Errorf("README lists %s twice", c[1])
			}
			got[Code(c[1])] = codeClass{status, ErrorType(m[2])}
		}
	}
	if len(got) == 0 {
		t.Fatal("no error table in docs/api.md: did it move?")
	}
	return got
}

// TestREADMEErrorTable: the error table of docs/api.md lists every code of the table, with its
// status and type, and no code the table does not have.
func TestREADMEErrorTable(t *testing.T) {
	doc := readmeErrorTable(t)
	for _, c := range Codes() {
		d, ok := doc[c]
		if !ok {
			t.Errorf("README's error table lacks %s (%d %s)", c, c.HTTPStatus(), c.Type())
			continue
		}
		if d.status != c.HTTPStatus() || d.typ != c.Type() {
			t.Errorf("README lists %s as %d %s; the table says %d %s", c, d.status, d.typ, c.HTTPStatus(), c.Type())
		}
	}
	for c := range doc {
		if !c.Known() {
			t.Errorf("README lists %s, which is no code of the table", c)
		}
	}
}

// TestCodeTable: every code's type fits its status, and an Error built from a code carries
// both and matches the code with errors.Is.
func TestCodeTable(t *testing.T) {
	for _, c := range Codes() {
		s, typ := c.HTTPStatus(), c.Type()
		want := InvalidRequest
		switch {
		case s == 401:
			want = Authentication
		case s == 429:
			want = RateLimit
		case s >= 500:
			want = APIError
		}
		if typ != want || s < 400 || s > 599 {
			t.Errorf("%s: %d %s", c, s, typ)
		}
		e := Errorf(c, "p", "bad %d", 1)
		wrapped := fmt.Errorf("context: %w", e)
		if e.HTTPStatus != s || e.Type != typ || e.Code != c || e.Message != "bad 1" || !errors.Is(wrapped, c) {
			t.Errorf("Errorf(%s) = %+v", c, e)
		}
	}
	if errors.Is(NewError(CodeInvalidAmount, "", ""), CodeInvalidNetwork) {
		t.Error("errors.Is matched another code")
	}
	if c := Code("no_such_code"); c.Known() || c.HTTPStatus() != 500 || c.Type() != APIError {
		t.Errorf("an unknown code: %v %d %s", c.Known(), c.HTTPStatus(), c.Type())
	}
	if n := NotFound("order"); n.HTTPStatus != 404 || n.Code != CodeResourceMissing {
		t.Errorf("NotFound: %+v", n)
	}
}
