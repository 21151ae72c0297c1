package api

import "testing"

func TestStreamCounts(t *testing.T) {
	var c streamCounts
	for i := 0; i < 2; i++ {
		if c.acquire("ip:1", 2, -1) != admitted {
			t.Fatalf("stream %d refused under the limit", i)
		}
	}
	if c.acquire("ip:1", 2, -1) != overClient {
		t.Error("third stream from one IP allowed with a limit of 2")
	}
	if c.acquire("ip:2", 2, -1) != admitted {
		t.Error("another IP was limited")
	}
	c.release("ip:1")
	if c.acquire("ip:1", 2, -1) != admitted {
		t.Error("a released slot was not reusable")
	}
	if c.acquire("key:k", -1, -1) != admitted || c.acquire("key:k", -1, -1) != admitted || c.acquire("key:k", -1, -1) != admitted {
		t.Error("negative limit must mean no limit")
	}
}

// TestStreamCountsTotal: the process-wide cap counts every key and client together, a
// client over its own cap hears about that first, and a release frees a slot for anyone.
func TestStreamCountsTotal(t *testing.T) {
	var c streamCounts
	if c.acquire("ip:1", 1, 3) != admitted || c.acquire("key:k", 5, 3) != admitted || c.acquire("ip:2", 5, 3) != admitted {
		t.Fatal("refused under both caps")
	}
	if got := c.acquire("ip:3", 5, 3); got != overEdge {
		t.Errorf("a fourth stream with a total cap of 3: %v; want overEdge", got)
	}
	if got := c.acquire("ip:1", 1, 3); got != overClient {
		t.Errorf("a client at its own cap: %v; want overClient", got)
	}
	c.release("key:k")
	if c.acquire("ip:3", 5, 3) != admitted {
		t.Error("a released slot was not reusable by another client")
	}
	if c.total != 3 {
		t.Errorf("total %d; want 3", c.total)
	}
}
