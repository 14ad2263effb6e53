package lxc

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets the test binary serve as the start helper, as the daemon's binary does.
func TestMain(m *testing.M) {
	if len(os.Args) == 5 && os.Args[1] == StartCommand {
		err := ForkStart(os.Args[2], os.Args[3], os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}

		os.Exit(0)
	}

	os.Exit(m.Run())
}
