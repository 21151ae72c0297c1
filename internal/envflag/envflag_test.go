package envflag

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultsFromEnvironment(t *testing.T) {
	t.Setenv("MP_T_STR", "x")
	t.Setenv("MP_T_INT", "7")
	t.Setenv("MP_T_BOOL", "true")
	t.Setenv("MP_T_DUR", "3s")
	var env Env
	if String("MP_T_STR", "d") != "x" || String("MP_T_UNSET", "d") != "d" || env.String("MP_T_STR", "d") != "x" {
		t.Error("String")
	}
	if env.Int("MP_T_INT", 1) != 7 || env.Int("MP_T_UNSET", 1) != 1 {
		t.Error("Int")
	}
	if !env.Bool("MP_T_BOOL", false) || env.Bool("MP_T_UNSET", true) != true {
		t.Error("Bool")
	}
	if env.Duration("MP_T_DUR", time.Second) != 3*time.Second || env.Duration("MP_T_UNSET", time.Second) != time.Second {
		t.Error("Duration")
	}
	if err := env.Err(); err != nil {
		t.Errorf("Err after good values: %v", err)
	}
}

// TestUnparsableValuesAreErrors: a value that does not parse used to fall back to the
// default without a word; now each one is an error naming its variable.
func TestUnparsableValuesAreErrors(t *testing.T) {
	cases := []struct {
		name, value string
		read        func(*Env, string)
	}{
		{"MP_T_RATE", "1OO", func(e *Env, n string) { e.Int(n, 10) }},
		{"MP_T_DEV", "yes?", func(e *Env, n string) { e.Bool(n, false) }},
		{"MP_T_EVERY", "5", func(e *Env, n string) { e.Duration(n, time.Second) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			var env Env
			c.read(&env, c.name)
			err := env.Err()
			if err == nil || !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), c.value) {
				t.Errorf("%s=%q: %v, want an error naming the variable and value", c.name, c.value, err)
			}
		})
	}
	t.Run("all reported", func(t *testing.T) {
		t.Setenv("MP_T_A", "x")
		t.Setenv("MP_T_B", "y")
		var env Env
		if env.Int("MP_T_A", 3) != 3 || env.Bool("MP_T_B", true) != true {
			t.Error("a bad value must leave the default")
		}
		if err := env.Err(); err == nil || !strings.Contains(err.Error(), "MP_T_A") || !strings.Contains(err.Error(), "MP_T_B") {
			t.Errorf("Err = %v, want both variables", err)
		}
	})
}
