package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxc/config"
)

// checkArgs checks the number of positional arguments (maxArgs -1 means no limit) as the stock client does: on a
// mismatch the help is printed, and that is the whole answer when no argument was given at all; otherwise the
// command fails. exit tells the caller to return err right away.
func checkArgs(cmd *cobra.Command, args []string, minArgs int, maxArgs int) (exit bool, err error) {
	if len(args) >= minArgs && (maxArgs == -1 || len(args) <= maxArgs) {
		return false, nil
	}

	_ = cmd.Help()
	if len(args) == 0 {
		return true, nil
	}

	return true, errors.New("invalid number of arguments")
}

// isTerminal reports whether fd is a terminal.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// readerIsTerminal reports whether r is a terminal device.
func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(int(f.Fd()))
}

// asker reads answers to questions from a command's input. One asker must serve all the questions of a command so
// that its buffered input is not lost between them.
type asker struct {
	raw io.Reader
	in  *bufio.Reader
	out io.Writer
}

func newAsker(cmd *cobra.Command) *asker {
	return &asker{raw: cmd.InOrStdin(), in: bufio.NewReader(cmd.InOrStdin()), out: cmd.OutOrStdout()}
}

// readLine reads one line without its line ending; a last line without a newline counts, plain EOF does not.
func (a *asker) readLine() (string, error) {
	line, err := a.in.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", err
	}

	return strings.TrimRight(line, "\r\n"), nil
}

// askString prints question and returns the answer.
func (a *asker) askString(question string) (string, error) {
	_, err := fmt.Fprint(a.out, question)
	if err != nil {
		return "", err
	}

	return a.readLine()
}

// askPassword prints question and returns the answer, without echoing it when the input is a terminal.
func (a *asker) askPassword(question string) (string, error) {
	_, err := fmt.Fprint(a.out, question)
	if err != nil {
		return "", err
	}

	f, ok := a.raw.(*os.File)
	if !ok || !isTerminal(int(f.Fd())) {
		return a.readLine()
	}

	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}

	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	err = unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho)
	if err != nil {
		return "", err
	}

	line, err := a.readLine()
	_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
	_, _ = fmt.Fprintln(a.out)
	return line, err
}

// ensureClientCertificate generates the client key pair on first use, telling the user on stderr as the stock
// client does.
func ensureClientCertificate(cmd *cobra.Command, conf *config.Config) error {
	if conf.HasClientCertificate() {
		return nil
	}

	_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "Generating a client certificate. This may take a minute...")
	err := conf.GenerateClientCertificate()
	if err != nil {
		return fmt.Errorf("generate client certificate: %w", err)
	}

	return nil
}

// editorCommand returns the user's editor: $VISUAL, $EDITOR, or the first of editor, vi and nano found.
func editorCommand() ([]string, error) {
	for _, env := range []string{"VISUAL", "EDITOR"} {
		fields := strings.Fields(os.Getenv(env))
		if len(fields) > 0 {
			return fields, nil
		}
	}

	for _, name := range []string{"editor", "vi", "nano"} {
		path, err := exec.LookPath(name)
		if err == nil {
			return []string{path}, nil
		}
	}

	return nil, errors.New("no text editor found, please set the EDITOR environment variable")
}

// textEditor lets the user edit content in their editor and returns the result.
func textEditor(content []byte) ([]byte, error) {
	editor, err := editorCommand()
	if err != nil {
		return nil, err
	}

	f, err := os.CreateTemp("", "lxc_editor_*.yaml")
	if err != nil {
		return nil, err
	}

	defer func() { _ = os.Remove(f.Name()) }()
	_, err = f.Write(content)
	closeErr := f.Close()
	if err == nil {
		err = closeErr
	}

	if err != nil {
		return nil, err
	}

	cmd := exec.Command(editor[0], append(editor[1:], f.Name())...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	if err != nil {
		return nil, fmt.Errorf("run editor %q: %w", editor[0], err)
	}

	return os.ReadFile(f.Name())
}

// instanceServer connects to the remote of "[<remote>:]<instance>" and returns the instance name.
func instanceServer(g *cmdGlobal, arg string) (client.InstanceServer, string, error) {
	return namedServer(g, arg, "instance")
}

// namedServer connects to the remote of "[<remote>:]<name>" and returns the name, which must not be empty; what
// names the kind of object in the error ("missing instance name").
func namedServer(g *cmdGlobal, arg string, what string) (client.InstanceServer, string, error) {
	remote, name, err := g.conf.ParseRemote(arg)
	if err != nil {
		return nil, "", err
	}

	if name == "" {
		return nil, "", fmt.Errorf("missing %s name", what)
	}

	d, err := g.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", err
	}

	return d, name, nil
}

// editYAML edits a T as YAML. When standard input is not a terminal, what it holds is applied with no ETag;
// otherwise load gives the current YAML and its ETag, shown under header in the text editor until apply accepts
// the result.
func editYAML[T any](cmd *cobra.Command, header string, load func() ([]byte, string, error), apply func(put T, etag string) error) error {
	decode := func(data []byte) (T, error) {
		var put T
		err := yaml.Unmarshal(data, &put)
		return put, err
	}

	if !readerIsTerminal(cmd.InOrStdin()) {
		content, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return err
		}

		put, err := decode(content)
		if err != nil {
			return err
		}

		return apply(put, "")
	}

	data, etag, err := load()
	if err != nil {
		return err
	}

	return editUntilApplied(cmd, append([]byte(header), data...), func(edited []byte) error {
		put, err := decode(edited)
		if err != nil {
			return err
		}

		return apply(put, etag)
	})
}

// editUntilApplied opens content in the text editor and hands the result to apply; while apply fails, the error is
// shown and the editor opened again on what was written, until it succeeds or the user aborts.
func editUntilApplied(cmd *cobra.Command, content []byte, apply func(edited []byte) error) error {
	content, err := textEditor(content)
	if err != nil {
		return err
	}

	ask := newAsker(cmd)
	for {
		err = apply(content)
		if err == nil {
			return nil
		}

		_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "Config parsing error: %s\n", err)
		_, err = ask.askString("Press enter to open the editor again or ctrl+c to abort change")
		if err != nil {
			return err
		}

		content, err = textEditor(content)
		if err != nil {
			return err
		}
	}
}

// remoteName parses "[<remote>:]<name>", refusing an empty name with "<what> missing".
func (g *cmdGlobal) remoteName(arg string, what string) (string, string, error) {
	remote, name, err := g.conf.ParseRemote(arg)
	if err != nil {
		return "", "", err
	}

	if name == "" {
		return "", "", errors.New(what + " missing")
	}

	return remote, name, nil
}

// remoteAndFilters reads "[<remote>:][<filter>] [<filter>...]" the way the stock list commands do: the first
// argument may name a remote, and whatever follows its colon is a filter too.
func (g *cmdGlobal) remoteAndFilters(args []string) (string, []string, error) {
	if len(args) == 0 {
		return g.conf.DefaultRemote, nil, nil
	}

	remote, name, err := g.conf.ParseRemote(args[0])
	if err != nil {
		return "", nil, err
	}

	filters := args[1:]
	if name != "" {
		filters = append([]string{name}, filters...)
	}

	return remote, filters, nil
}
