package lxc

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// TestMain lets the test binary serve as the helper processes, as the daemon's binary does.
func TestMain(m *testing.M) {
	var err error
	switch {
	case len(os.Args) == 5 && os.Args[1] == StartCommand:
		err = ForkStart(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) == 4 && (os.Args[1] == MountCommand || os.Args[1] == UnmountCommand):
		pid, convErr := strconv.Atoi(os.Args[2])
		if convErr != nil {
			err = convErr
		} else if os.Args[1] == MountCommand {
			err = ForkMount(pid, os.Args[3], 3)
		} else {
			err = ForkUnmount(pid, os.Args[3])
		}
	default:
		os.Exit(m.Run())
	}

	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	os.Exit(0)
}
