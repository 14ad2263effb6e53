package instance

import (
	"context"
	"os"
	"time"

	"github.com/lxd-go/lxd/shared/api"
)

// Spec is what a driver needs to start a container.
type Spec struct {
	// Name is the instance's key (its project and name, see lxd/project): the container's name in liblxc.
	Name string

	// Hostname is the instance's name as the API shows it; the name itself when empty.
	Hostname string

	// Rootfs is the mounted root filesystem.
	Rootfs string

	// LogFile receives the driver's log.
	LogFile string

	// Config and Devices are the expanded configuration and devices.
	Config  map[string]string
	Devices map[string]map[string]string

	// IDMap is the user namespace map; nil runs the container privileged.
	IDMap *IDMap

	// AppArmorProfile is the loaded AppArmor profile the container runs under; "" runs it unconfined.
	AppArmorProfile string

	// DevicesDir is where the driver makes the device nodes of unix-char and unix-block devices.
	DevicesDir string
}

// ExecSpec is a command to run in a running container.
type ExecSpec struct {
	Command []string
	Env     []string
	Cwd     string
	UID     int
	GID     int

	// Stdin, Stdout and Stderr are handed to the process.
	Stdin  *os.File
	Stdout *os.File
	Stderr *os.File
}

// RuntimeState is what a driver reports about a container.
type RuntimeState struct {
	Status    api.StatusCode
	Pid       int64
	Processes int64
	Memory    api.InstanceStateMemory
	CPU       api.InstanceStateCPU
	Network   map[string]api.InstanceStateNetwork
}

// Driver runs containers.
type Driver interface {
	// Start starts a container and returns once it runs.
	Start(ctx context.Context, spec Spec) error

	// Shutdown asks the container's init to stop and waits up to timeout (for ever when negative).
	Shutdown(ctx context.Context, name string, timeout time.Duration) error

	// Kill stops the container at once.
	Kill(ctx context.Context, name string) error

	// Freeze and Unfreeze pause and resume all processes.
	Freeze(name string) error
	Unfreeze(name string) error

	// Status returns Running, Frozen or Stopped.
	Status(name string) api.StatusCode

	// State reports the runtime state.
	State(name string) RuntimeState

	// WaitExit returns a channel closed when the running container's init exits.
	WaitExit(name string) (<-chan struct{}, error)

	// Exec starts a command in the container and returns its host pid; the caller reaps it.
	Exec(name string, spec ExecSpec) (int, error)

	// OpenPty opens a pseudo-terminal pair inside the running container's devpts.
	OpenPty(name string) (*os.File, *os.File, error)

	// Cleanup removes what the driver keeps for a deleted container.
	Cleanup(name string) error
}

// ConsoleLogFile is the name of the console log in an instance's log directory.
const ConsoleLogFile = "console.log"

// DiskHotplugDriver is a Driver that adds and removes the bind-mounted disks of a running container.
type DiskHotplugDriver interface {
	// AttachDisk mounts a disk device's host source at its path in the running container.
	AttachDisk(name string, dev map[string]string) error

	// DetachDisk unmounts what is mounted at path in the running container.
	DetachDisk(name string, path string) error
}

// ConsoleDriver is a Driver that gives access to a container's console.
type ConsoleDriver interface {
	// Console attaches tty (the terminal side of a pty pair) to the running container's console and returns when
	// the container stops or tty hangs up.
	Console(name string, tty *os.File) error

	// ConsoleLog returns the console ring buffer and writes it to the console log file; reset empties it instead.
	ConsoleLog(name string, reset bool) ([]byte, error)

	// ConsoleSize sets the window size of the running container's console.
	ConsoleSize(name string, width int, height int) error
}
