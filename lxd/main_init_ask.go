package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// asker asks the questions of interactive "lxd init" as LXD does: the question on standard output, the answer on a
// line of standard input (an empty one takes the default), a refused answer explained on standard error and the
// question asked again. The end of the input is an error.
type asker struct {
	in     *bufio.Reader
	out    io.Writer
	errOut io.Writer
}

// readAnswer reads one line; an empty one gives def.
func (a *asker) readAnswer(def string) (string, error) {
	line, err := a.in.ReadString('\n')
	if err != nil {
		return "", err
	}

	answer := strings.TrimSpace(strings.TrimSuffix(line, "\n"))
	if answer == "" {
		answer = def
	}

	return answer, nil
}

func (a *asker) ask(question string, def string) (string, error) {
	_, _ = fmt.Fprint(a.out, question)
	return a.readAnswer(def)
}

func (a *asker) invalid() {
	_, _ = fmt.Fprint(a.errOut, "Invalid input, try again.\n\n")
}

// askBool asks a yes/no question.
func (a *asker) askBool(question string, def string) (bool, error) {
	for {
		answer, err := a.ask(question, def)
		if err != nil {
			return false, err
		}

		switch strings.ToLower(answer) {
		case "yes", "y":
			return true, nil
		case "no", "n":
			return false, nil
		}

		a.invalid()
	}
}

// askChoice asks for one of choices.
func (a *asker) askChoice(question string, choices []string, def string) (string, error) {
	for {
		answer, err := a.ask(question, def)
		if err != nil {
			return "", err
		}

		if slices.Contains(choices, answer) {
			return answer, nil
		}

		a.invalid()
	}
}

// askInt asks for a number between lo and hi (hi -1: no upper bound).
func (a *asker) askInt(question string, lo int64, hi int64, def string) (int64, error) {
	for {
		answer, err := a.ask(question, def)
		if err != nil {
			return 0, err
		}

		n, err := strconv.ParseInt(answer, 10, 64)
		if err != nil {
			_, _ = fmt.Fprintf(a.errOut, "Invalid input: %v\n\n", err)
			continue
		}

		if n < lo || (hi != -1 && n > hi) {
			_, _ = fmt.Fprint(a.errOut, "Invalid input: out of range\n\n")
			continue
		}

		return n, nil
	}
}

// askString asks for a string that validate accepts; without validate, any non-empty answer.
func (a *asker) askString(question string, def string, validate func(string) error) (string, error) {
	for {
		answer, err := a.ask(question, def)
		if err != nil {
			return "", err
		}

		if validate != nil {
			err = validate(answer)
			if err != nil {
				_, _ = fmt.Fprintf(a.errOut, "Invalid input: %s\n\n", err)
				continue
			}

			return answer, nil
		}

		if answer != "" {
			return answer, nil
		}

		a.invalid()
	}
}

// askPassword asks for a password twice, without echo when the input is a terminal, until both answers match.
func (a *asker) askPassword(question string) (string, error) {
	for {
		_, _ = fmt.Fprint(a.out, question)
		first, err := a.readSecret()
		if err != nil {
			return "", err
		}

		_, _ = fmt.Fprint(a.out, "Again: ")
		second, err := a.readSecret()
		if err != nil {
			return "", err
		}

		if first == second {
			return first, nil
		}

		a.invalid()
	}
}

// readSecret reads a line with the terminal's echo off, then ends the prompt's line.
func (a *asker) readSecret() (string, error) {
	restore := noEcho(os.Stdin)
	line, err := a.in.ReadString('\n')
	restore()
	_, _ = fmt.Fprint(a.out, "\n")
	if err != nil {
		return "", err
	}

	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// noEcho turns the echo of the terminal f off and returns what turns it back on; it does nothing when f is not a
// terminal.
func noEcho(f *os.File) func() {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}

	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	err = unix.IoctlSetTermios(fd, unix.TCSETS, &quiet)
	if err != nil {
		return func() {}
	}

	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
