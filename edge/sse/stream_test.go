package sse

import "testing"

func TestAfter(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{{"2-0", "1-5", true}, {"10-0", "9-9", true}, {"1-5", "1-4", true}, {"1-4", "1-4", false}, {"1-3", "1-4", false}}
	for _, c := range cases {
		if after(c.a, c.b) != c.want {
			t.Errorf("after(%s, %s) != %v", c.a, c.b, c.want)
		}
	}
}
