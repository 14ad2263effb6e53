package lxc

import (
	"fmt"
	"time"

	golxc "github.com/lxc/go-lxc"
)

// haltPoll is how often a clean stop checks whether the container has stopped.
const haltPoll = 50 * time.Millisecond

// haltResendMax bounds the growing interval between two halt signals.
const haltResendMax = 30 * time.Second

// halt stops the container cleanly: it sends init the halt signal (liblxc's lxc.signal.halt, SIGRTMIN+3 for
// systemd) and waits, up to timeout (for ever when negative), for the container to stop. The signal is sent again
// after 1 s, then after intervals that double: the kernel drops a signal that the init of a pid namespace neither
// catches nor waits for, so a halt sent while init is still setting up (right after a start) would be lost and the
// stop would wait for nothing. An init already shutting down gets the same request again, which it ignores.
func halt(c *golxc.Container, timeout time.Duration) error {
	start := time.Now()
	resend := time.Second
	next := start
	for {
		if c.State() == golxc.STOPPED {
			return nil
		}

		now := time.Now()
		if timeout >= 0 && now.Sub(start) >= timeout {
			return fmt.Errorf("the instance did not stop within %s", timeout)
		}

		if !now.Before(next) {
			// A zero timeout makes liblxc send the signal and return; an error means init is already gone.
			_ = c.Shutdown(0)
			next = now.Add(resend)
			resend = min(2*resend, haltResendMax)
		}

		time.Sleep(haltPoll)
	}
}
