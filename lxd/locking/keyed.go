// Package locking holds mutexes keyed by name: one per instance, image base or API resource, made on first use
// and dropped once nobody holds or waits for it.
package locking

import (
	"sync"
)

// Keyed is a set of mutexes, one per key. The zero value is ready to use.
type Keyed struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu sync.Mutex

	// users counts the holders and waiters; guarded by Keyed.mu.
	users int
}

// Lock locks key, waiting for its current holder, and returns the function that unlocks it.
func (k *Keyed) Lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}

	e, ok := k.locks[key]
	if !ok {
		e = &keyedEntry{}
		k.locks[key] = e
	}

	e.users++
	k.mu.Unlock()

	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.users--
		if e.users == 0 {
			delete(k.locks, key)
		}

		k.mu.Unlock()
	}
}

// held returns how many keys have holders or waiters.
func (k *Keyed) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}
