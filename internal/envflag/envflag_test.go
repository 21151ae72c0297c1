package envflag

import (
	"testing"
	"time"
)

func TestDefaultsFromEnvironment(t *testing.T) {
	t.Setenv("MP_T_STR", "x")
	t.Setenv("MP_T_INT", "7")
	t.Setenv("MP_T_BAD", "seven")
	t.Setenv("MP_T_BOOL", "true")
	t.Setenv("MP_T_DUR", "3s")
	if String("MP_T_STR", "d") != "x" || String("MP_T_UNSET", "d") != "d" {
		t.Error("String")
	}
	if Int("MP_T_INT", 1) != 7 || Int("MP_T_BAD", 1) != 1 {
		t.Error("Int")
	}
	if !Bool("MP_T_BOOL", false) || Bool("MP_T_BAD", false) {
		t.Error("Bool")
	}
	if Duration("MP_T_DUR", time.Second) != 3*time.Second || Duration("MP_T_BAD", time.Second) != time.Second {
		t.Error("Duration")
	}
}
