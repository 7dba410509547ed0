package devices

import (
	"strings"
	"sync"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

// The cache of what the rules found in a value. Real scans repeat titles,
// Server headers, realms and whole login pages thousands of times (one per
// device of a model), so most values are matched once. The cache holds
// two generations: lookups read both, inserts go to the young one, and
// when the young one is full (entries or key bytes) the old one is dropped
// and the young one takes its place. A value seen in either generation
// stays; memory stays under twice the bounds.
const (
	cacheEntries = 1 << 16
	cacheBytes   = 16 << 20
)

type cacheKey struct {
	field banner.Field
	value string
}

type valueCache struct {
	mu                 sync.Mutex
	young, old         map[cacheKey][]hit
	youngBytes         int
	maxEntries, maxLen int
}

func newValueCache(entries, bytes int) *valueCache {
	return &valueCache{young: map[cacheKey][]hit{}, maxEntries: entries, maxLen: bytes}
}

func (c *valueCache) get(k cacheKey) ([]hit, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hs, ok := c.young[k]; ok {
		return hs, true
	}
	hs, ok := c.old[k]
	if ok {
		c.insert(k, hs)
	}
	return hs, ok
}

func (c *valueCache) put(k cacheKey, hs []hit) {
	// The key is copied: the caller's value may be a slice of a large
	// buffer (an importer's line) that the cache must not keep alive.
	k.value = strings.Clone(k.value)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insert(k, hs)
}

func (c *valueCache) insert(k cacheKey, hs []hit) {
	if len(c.young) >= c.maxEntries || c.youngBytes+len(k.value) > c.maxLen {
		c.old, c.young, c.youngBytes = c.young, make(map[cacheKey][]hit, len(c.young)), 0
	}
	c.young[k] = hs
	c.youngBytes += len(k.value)
}
