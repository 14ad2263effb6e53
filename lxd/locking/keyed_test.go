package locking

import (
	"sync"
	"testing"
	"time"
)

func TestKeyedSerialisesOneKey(t *testing.T) {
	var k Keyed
	counter := 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := k.Lock("a")
			v := counter
			time.Sleep(time.Microsecond)
			counter = v + 1
			unlock()
		}()
	}

	wg.Wait()
	if counter != 50 {
		t.Fatalf("got %d increments, want 50: the lock let two holders in", counter)
	}

	if k.held() != 0 {
		t.Fatalf("got %d keys left, want none once everything is unlocked", k.held())
	}
}

func TestKeyedKeysAreIndependent(t *testing.T) {
	var k Keyed
	unlockA := k.Lock("a")
	done := make(chan struct{})
	go func() {
		unlockB := k.Lock("b")
		unlockB()
		close(done)
	}()

	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("locking b waited for a")
	}

	waited := make(chan struct{})
	go func() {
		unlock := k.Lock("a")
		unlock()
		close(waited)
	}()

	select {
	case <-waited:
		t.Fatal("a second holder of a got in while the first held it")
	case <-time.After(50 * time.Millisecond):
	}

	unlockA()
	<-waited
}
