package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/ws"
)

type cmdExec struct {
	global *cmdGlobal

	flagEnv          []string
	flagCwd          string
	flagUser         uint32
	flagGroup        uint32
	flagForceTTY     bool
	flagForceNonTTY  bool
	flagMode         string
	flagDisableStdin bool
}

func (c *cmdExec) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec [<remote>:]<instance> [flags] [--] <command line>",
		Short: "Execute commands in instances",
		Long: `Execute commands in instances

The command is executed directly using exec, so there is no shell and
shell patterns (variables, file redirects, ...) won't be understood.
If you need a shell environment you need to execute the shell
executable, passing the shell commands as arguments, for example:

  lxc exec <instance> -- sh -c "cd /tmp && pwd"

Mode defaults to non-interactive, interactive mode is selected if both stdin AND stdout are terminals (stderr is ignored).`,
		RunE: c.run,
	}

	cmd.Flags().StringArrayVar(&c.flagEnv, "env", nil, "Environment variable to set (e.g. HOME=/home/foo)")
	cmd.Flags().StringVar(&c.flagCwd, "cwd", "", "Directory to run the command in (default /root)")
	cmd.Flags().Uint32Var(&c.flagUser, "user", 0, "User ID to run the command as (default 0)")
	cmd.Flags().Uint32Var(&c.flagGroup, "group", 0, "Group ID to run the command as (default 0)")
	cmd.Flags().BoolVarP(&c.flagForceTTY, "force-interactive", "t", false, "Force pseudo-terminal allocation")
	cmd.Flags().BoolVarP(&c.flagForceNonTTY, "force-noninteractive", "T", false, "Disable pseudo-terminal allocation")
	cmd.Flags().StringVar(&c.flagMode, "mode", "auto", "Override the terminal mode (auto, interactive or non-interactive)")
	cmd.Flags().BoolVarP(&c.flagDisableStdin, "disable-stdin", "n", false, "Disable stdin (reads from /dev/null)")
	return cmd
}

// interactive decides the terminal mode from the flags and whether stdin and stdout are terminals.
func (c *cmdExec) interactive() (bool, error) {
	if c.flagForceTTY && c.flagForceNonTTY {
		return false, errors.New("you can't pass -t and -T at the same time")
	}

	switch {
	case c.flagForceTTY || c.flagMode == "interactive":
		return true, nil
	case c.flagForceNonTTY || c.flagMode == "non-interactive":
		return false, nil
	case c.flagMode != "auto":
		return false, fmt.Errorf("invalid mode %q", c.flagMode)
	}

	return isTerminal(int(os.Stdin.Fd())) && isTerminal(int(os.Stdout.Fd())), nil
}

func (c *cmdExec) run(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, -1)
	if exit {
		return err
	}

	remote, name, err := c.global.conf.ParseRemote(args[0])
	if err != nil {
		return err
	}

	command := args[1:]
	if command[0] == "--" {
		command = command[1:]
	}

	if len(command) == 0 {
		return errors.New("missing the command to run")
	}

	interactive, err := c.interactive()
	if err != nil {
		return err
	}

	term, hasTerm := os.LookupEnv("TERM")
	env := execEnvironment(term, hasTerm, c.flagEnv)

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	req := api.InstanceExecPost{
		Command:     command,
		Interactive: interactive,
		Environment: env,
		Cwd:         c.flagCwd,
		User:        c.flagUser,
		Group:       c.flagGroup,
	}

	stdinFd := int(os.Stdin.Fd())
	if interactive && isTerminal(stdinFd) {
		width, height := termSize(stdinFd)
		req.Width, req.Height = width, height
		restore, err := makeRaw(stdinFd)
		if err != nil {
			return err
		}

		defer restore()
	}

	var stdin = os.Stdin
	if c.flagDisableStdin {
		stdin, err = os.Open(os.DevNull)
		if err != nil {
			return err
		}
	}

	dataDone := make(chan bool)
	execArgs := &client.InstanceExecArgs{
		Stdin:    stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Control:  func(conn *websocket.Conn) { controlHandler(conn, interactive, stdinFd) },
		DataDone: dataDone,
	}

	op, err := d.ExecInstance(name, req, execArgs)
	if err != nil {
		return err
	}

	err = op.Wait()
	if err != nil {
		return err
	}

	<-dataDone
	code, ok := op.Get().Metadata["return"].(float64)
	if !ok {
		return errors.New("the server did not report the command's exit status")
	}

	if code != 0 {
		return exitStatusError{code: int(code)}
	}

	return nil
}

// execEnvironment returns the environment sent with a command: the caller's TERM when it has one (even empty), then
// the --env pairs; a name without "=" is sent with an empty value, as the stock client does.
func execEnvironment(term string, hasTerm bool, pairs []string) map[string]string {
	env := map[string]string{}
	if hasTerm {
		env["TERM"] = term
	}

	for _, kv := range pairs {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}

	return env
}

// controlHandler forwards window size changes (interactive) or signals (non-interactive) on the control socket.
func controlHandler(conn *websocket.Conn, interactive bool, fd int) {
	var mu sync.Mutex
	send := func(msg api.InstanceExecControl) bool {
		mu.Lock()
		defer mu.Unlock()
		return conn.WriteJSON(msg) == nil
	}

	ch := make(chan os.Signal, 8)
	if interactive {
		signal.Notify(ch, unix.SIGWINCH)
	} else {
		signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
			unix.SIGTSTP, unix.SIGCONT, unix.SIGTTIN, unix.SIGTTOU)
	}

	defer signal.Stop(ch)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		ws.Drain(conn)
	}()

	for {
		select {
		case <-closed:
			return
		case sig := <-ch:
			if sig == unix.SIGWINCH {
				width, height := termSize(fd)
				send(api.InstanceExecControl{Command: "window-resize",
					Args: map[string]string{"width": strconv.Itoa(width), "height": strconv.Itoa(height)}})
				continue
			}

			s, ok := sig.(unix.Signal)
			if ok && !send(api.InstanceExecControl{Command: "signal", Signal: int(s)}) {
				return
			}
		}
	}
}

// termSize returns the terminal's width and height, 0 when unknown.
func termSize(fd int) (int, int) {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0
	}

	return int(ws.Col), int(ws.Row)
}

// makeRaw puts the terminal in raw mode and returns the function restoring it.
func makeRaw(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}

	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	err = unix.IoctlSetTermios(fd, unix.TCSETS, &raw)
	if err != nil {
		return nil, err
	}

	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
