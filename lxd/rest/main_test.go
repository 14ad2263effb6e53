package rest

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance/lxc"
)

// TestMain lets the test binary serve as the liblxc driver's helper processes, as the daemon's binary does, for
// the tests running real containers.
func TestMain(m *testing.M) {
	var err error
	switch {
	case len(os.Args) == 5 && os.Args[1] == lxc.StartCommand:
		err = lxc.ForkStart(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) == 4 && (os.Args[1] == lxc.MountCommand || os.Args[1] == lxc.UnmountCommand):
		pid, convErr := strconv.Atoi(os.Args[2])
		if convErr != nil {
			err = convErr
		} else if os.Args[1] == lxc.MountCommand {
			err = lxc.ForkMount(pid, os.Args[3], 3)
		} else {
			err = lxc.ForkUnmount(pid, os.Args[3])
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
