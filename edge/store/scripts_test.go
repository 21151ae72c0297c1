package store

import (
	"testing"

	"github.com/mpchat/checkout/internal/luatest"
)

// TestScriptHeaders: every Lua file documents its KEYS, ARGV, return value and slot, and is
// loaded by exactly one script in scripts.go (no inline scripts elsewhere).
func TestScriptHeaders(t *testing.T) { luatest.CheckHeaders(t, luaFiles) }
