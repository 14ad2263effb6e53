package main

import (
	"fmt"
	"io"
	"os"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

// consoleEscape is the first key of the detach sequence (ctrl+a, then q).
const consoleEscape = 0x01

type cmdConsole struct {
	global *cmdGlobal

	flagShowLog bool
	flagType    string
}

func (c *cmdConsole) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "console [<remote>:]<instance>",
		Short: "Attach to instance consoles",
		Long: "Attach to instance consoles\n\nThis command allows you to interact with the boot console of an instance\n" +
			"as well as retrieve past log entries from it.",
		Args: cobra.ExactArgs(1),
		RunE: c.run,
	}

	cmd.Flags().BoolVar(&c.flagShowLog, "show-log", false, "Retrieve the container's console log")
	cmd.Flags().StringVarP(&c.flagType, "type", "t", "console", "Type of connection to establish: 'console' for serial console")
	return cmd
}

func (c *cmdConsole) run(cmd *cobra.Command, args []string) error {
	d, name, err := instanceServer(c.global, args[0])
	if err != nil {
		return err
	}

	if c.flagShowLog {
		log, err := d.GetInstanceConsoleLog(name)
		if err != nil {
			return err
		}

		defer func() { _ = log.Close() }()
		content, err := io.ReadAll(log)
		if err != nil {
			return err
		}

		fmt.Fprintf(cmd.OutOrStdout(), "\nConsole log:\n\n%s\n", content)
		return nil
	}

	if c.flagType != "console" {
		return fmt.Errorf("unknown console type %q", c.flagType)
	}

	req := api.InstanceConsolePost{Type: c.flagType}
	stdinFd := int(os.Stdin.Fd())
	if isTerminal(stdinFd) {
		req.Width, req.Height = termSize(stdinFd)
		restore, err := makeRaw(stdinFd)
		if err != nil {
			return err
		}

		defer restore()
	}

	fmt.Fprintf(os.Stdout, "To detach from the console, press: <ctrl>+a q\n\r")
	detach := make(chan bool)
	input := &consoleInput{r: os.Stdin, detach: detach}
	consoleArgs := &client.InstanceConsoleArgs{
		Terminal:          consoleTerminal{Reader: input, Writer: os.Stdout},
		Control:           func(conn *websocket.Conn) { controlHandler(conn, true, stdinFd) },
		ConsoleDisconnect: detach,
	}

	op, err := d.ConsoleInstance(name, req, consoleArgs)
	if err != nil {
		return err
	}

	return op.Wait()
}

// consoleTerminal joins the local input and output into the console's terminal.
type consoleTerminal struct {
	io.Reader
	io.Writer
}

// Close leaves the local terminal open.
func (consoleTerminal) Close() error {
	return nil
}

// consoleInput passes input through until the detach sequence (ctrl+a q), then closes detach and reports EOF.
// Ctrl+a twice sends one ctrl+a; ctrl+a followed by any other key is passed on as typed.
type consoleInput struct {
	r      io.Reader
	detach chan bool

	sawEscape bool
	detached  bool
	pending   []byte
}

func (in *consoleInput) Read(p []byte) (int, error) {
	for len(in.pending) == 0 {
		if in.detached {
			return 0, io.EOF
		}

		buf := make([]byte, max(len(p), 1))
		n, err := in.r.Read(buf)
		in.filter(buf[:n])
		if err != nil && len(in.pending) == 0 {
			return 0, err
		}

		if err != nil {
			break
		}
	}

	n := copy(p, in.pending)
	in.pending = in.pending[n:]
	return n, nil
}

// filter queues the typed keys and watches for the detach sequence.
func (in *consoleInput) filter(keys []byte) {
	for _, b := range keys {
		switch {
		case in.sawEscape && b == 'q':
			in.detached = true
			close(in.detach)
			return
		case in.sawEscape && b == consoleEscape:
			in.sawEscape = false
			in.pending = append(in.pending, consoleEscape)
		case in.sawEscape:
			in.sawEscape = false
			in.pending = append(in.pending, consoleEscape, b)
		case b == consoleEscape:
			in.sawEscape = true
		default:
			in.pending = append(in.pending, b)
		}
	}
}
