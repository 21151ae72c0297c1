package page

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"sync/atomic"

	"github.com/mpchat/checkout/internal/webbuild"
)

// DefaultPageCacheBytes bounds the rendered pages a Handler keeps in memory.
const DefaultPageCacheBytes = 16 << 20

// maxCacheEntries bounds the entries whatever their size (the map and list cost per entry).
const maxCacheEntries = 4096

// pageCache keeps rendered pages and their compressed copies, least recently used first out.
//
// A page is a pure function of its widget.State (and the assets, fixed for the process), so
// the key is a hash of the State's JSON: a change to the order, the merchant's settings that
// show, the language or the embedding is another key, and nothing needs invalidating. The
// State carries the edge's clock to the second (see Handler.state), so an entry serves the
// loads of one second at most: a flood of loads of one page costs one render and one
// compression per second, and every page shows a countdown true to the second.
type pageCache struct {
	maxBytes int

	mu    sync.Mutex
	bytes int
	lru   *list.List // of *cachedPage, most recent at the front
	byKey map[[32]byte]*list.Element

	renders, compressions atomic.Int64 // for tests
}

// cachedPage is one rendered page. Its fields are written once, under their sync.Once.
type cachedPage struct {
	key     [32]byte
	render  sync.Once
	status  int
	raw     []byte
	err     error
	br, gz  sync.Once
	brBody  []byte
	gzBody  []byte
	inCache bool // guarded by pageCache.mu
	size    int  // guarded by pageCache.mu
}

func newPageCache(maxBytes int) *pageCache {
	if maxBytes <= 0 {
		maxBytes = DefaultPageCacheBytes
	}
	return &pageCache{maxBytes: maxBytes, lru: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func cacheKey(parts ...[]byte) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// page returns the entry for key, rendering it with render on first use. Concurrent loads of
// one key wait for the one render. A failed render is not kept.
func (c *pageCache) page(key [32]byte, render func() (int, []byte, error)) *cachedPage {
	c.mu.Lock()
	var p *cachedPage
	if el, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(el)
		p = el.Value.(*cachedPage)
	} else {
		p = &cachedPage{key: key, inCache: true}
		c.byKey[key] = c.lru.PushFront(p)
	}
	c.mu.Unlock()
	p.render.Do(func() {
		c.renders.Add(1)
		p.status, p.raw, p.err = render()
		if p.err != nil {
			c.remove(p)
			return
		}
		c.grow(p, len(p.raw)+len(key)+64)
	})
	return p
}

// body returns the page in the encoding asked for ("br", "gzip" or "" for none), compressing
// it on first use; ok is false when compression failed (send it uncompressed).
func (c *pageCache) body(p *cachedPage, enc string) (body []byte, ok bool) {
	switch enc {
	case "br":
		p.br.Do(func() {
			c.compressions.Add(1)
			// Brotli at a fast level: ~16 KB → ~5 KB in well under a millisecond.
			if b, err := webbuild.Brotli(p.raw, 5); err == nil {
				p.brBody = b
				c.grow(p, len(b))
			}
		})
		return p.brBody, p.brBody != nil
	case "gzip":
		p.gz.Do(func() {
			c.compressions.Add(1)
			if b, err := webbuild.Gzip(p.raw); err == nil {
				p.gzBody = b
				c.grow(p, len(b))
			}
		})
		return p.gzBody, p.gzBody != nil
	}
	return p.raw, true
}

// grow counts n more bytes for p and evicts the least recently used entries beyond the bounds.
func (c *pageCache) grow(p *cachedPage, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !p.inCache {
		return
	}
	p.size += n
	c.bytes += n
	for (c.bytes > c.maxBytes || c.lru.Len() > maxCacheEntries) && c.lru.Len() > 0 {
		c.removeLocked(c.lru.Back().Value.(*cachedPage))
	}
}

func (c *pageCache) remove(p *cachedPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(p)
}

func (c *pageCache) removeLocked(p *cachedPage) {
	if !p.inCache {
		return
	}
	if el, ok := c.byKey[p.key]; ok && el.Value == p {
		c.lru.Remove(el)
		delete(c.byKey, p.key)
	}
	p.inCache = false
	c.bytes -= p.size
}

func (c *pageCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *pageCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
