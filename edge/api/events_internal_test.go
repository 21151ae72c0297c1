package api

import "testing"

func TestStreamCounts(t *testing.T) {
	var c streamCounts
	for i := 0; i < 2; i++ {
		if !c.acquire("ip:1", 2) {
			t.Fatalf("stream %d refused under the limit", i)
		}
	}
	if c.acquire("ip:1", 2) {
		t.Error("third stream from one IP allowed with a limit of 2")
	}
	if !c.acquire("ip:2", 2) {
		t.Error("another IP was limited")
	}
	c.release("ip:1")
	if !c.acquire("ip:1", 2) {
		t.Error("a released slot was not reusable")
	}
	if !c.acquire("key:k", -1) || !c.acquire("key:k", -1) || !c.acquire("key:k", -1) {
		t.Error("negative limit must mean no limit")
	}
}
