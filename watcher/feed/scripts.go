package feed

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The feed's Lua scripts, one file each under lua/. Each file's header names its KEYS, ARGV,
// return value and the hash-tag slot all its keys share: the network's, {NET}.
//
//go:embed lua/*.lua
var luaFiles embed.FS

// script loads lua/name.lua; a missing file is a build mistake, caught by every test.
func script(name string) *redis.Script {
	b, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic("feed: missing Lua script " + name + ": " + err.Error())
	}
	return redis.NewScript(string(b))
}

var (
	acquireScript = script("lease_acquire") // Acquire
	releaseScript = script("lease_release") // Release
	commitScript  = script("commit_step")   // Commit
	statusScript  = script("status_write")  // WriteStatus
)
