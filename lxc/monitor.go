package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdMonitor struct {
	global *cmdGlobal

	flagType     []string
	flagPretty   bool
	flagFormat   string
	flagLogLevel string
}

func (c *cmdMonitor) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor [<remote>:]",
		Short: "Monitor a local or remote LXD server",
		Long: `Monitor a local or remote LXD server

By default the monitor will listen to all message types.`,
		Example: `  lxc monitor --type=logging
      Only show log messages.

  lxc monitor --pretty --type=logging --loglevel=info
      Show a pretty log of messages with info level or higher.

  lxc monitor --type=lifecycle
      Only show lifecycle events.`,
		Args: cobra.MaximumNArgs(1),
		RunE: c.run,
	}

	cmd.Flags().StringSliceVar(&c.flagType, "type", nil, "Event type to listen for")
	cmd.Flags().BoolVar(&c.flagPretty, "pretty", false, "Pretty rendering (short for --format=pretty)")
	cmd.Flags().StringVarP(&c.flagFormat, "format", "f", "yaml", "Format (json|pretty|yaml)")
	cmd.Flags().StringVar(&c.flagLogLevel, "loglevel", "",
		"Minimum level for log messages (only available when using pretty format)")
	return cmd
}

// logLevels orders the levels of events, lowest first.
var logLevels = []string{"trace", "debug", "info", "warning", "error", "fatal", "panic"}

func (c *cmdMonitor) run(cmd *cobra.Command, args []string) error {
	remote := c.global.conf.DefaultRemote
	if len(args) == 1 {
		var name string
		var err error
		remote, name, err = c.global.conf.ParseRemote(args[0])
		if err != nil {
			return err
		}

		if name != "" {
			return fmt.Errorf("invalid remote %q: use %q", args[0], remote+":")
		}
	}

	format := c.flagFormat
	if c.flagPretty {
		format = "pretty"
	}

	if !slices.Contains([]string{"json", "pretty", "yaml"}, format) {
		return fmt.Errorf("invalid format: %s", format)
	}

	for _, t := range c.flagType {
		if !slices.Contains([]string{api.EventTypeOperation, api.EventTypeLifecycle, api.EventTypeLogging}, t) {
			return fmt.Errorf("invalid event type %q", t)
		}
	}

	minLevel := 0
	if c.flagLogLevel != "" {
		if format != "pretty" {
			return errors.New("log level filtering can only be used with pretty formatting")
		}

		minLevel = slices.Index(logLevels, normalizeLevel(c.flagLogLevel))
		if minLevel < 0 {
			return fmt.Errorf("invalid log level %q", c.flagLogLevel)
		}
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return err
	}

	listener, err := d.GetEvents()
	if err != nil {
		return err
	}

	var mu sync.Mutex
	_, err = listener.AddHandler(c.flagType, func(ev api.Event) {
		mu.Lock()
		defer mu.Unlock()
		err := printEvent(os.Stdout, ev, format, minLevel)
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		}
	})
	if err != nil {
		listener.Disconnect()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		listener.Disconnect()
		return nil
	case <-listener.Done():
		return listener.Wait()
	}
}

// normalizeLevel maps level spellings to the ones logging events use.
func normalizeLevel(level string) string {
	level = strings.ToLower(level)
	if level == "warn" {
		return "warning"
	}

	return level
}

// printEvent writes one event: YAML or JSON (keys sorted, as LXD prints them) followed by two newlines, or one
// pretty line when its level is minLevel or above.
func printEvent(w io.Writer, ev api.Event, format string, minLevel int) error {
	if format == "pretty" {
		level, line := prettyEvent(ev)
		if slices.Index(logLevels, level) < minLevel {
			return nil
		}

		_, err := fmt.Fprintln(w, line)
		return err
	}

	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}

	var generic map[string]any
	err = json.Unmarshal(raw, &generic)
	if err != nil {
		return err
	}

	var out []byte
	if format == "json" {
		out, err = json.Marshal(generic)
	} else {
		out, err = yamlMarshalStock(generic)
	}

	if err != nil {
		return err
	}

	// LXD's client prints each document followed by two newlines; scripts parsing its output expect that.
	_, err = fmt.Fprintf(w, "%s\n\n", out)
	return err
}

// logfmtSafe tells whether a value is printed unquoted in a pretty line.
func logfmtSafe(s string) bool {
	for _, r := range s {
		ok := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || strings.ContainsRune("-._/@^+", r)
		if !ok {
			return false
		}
	}

	return true
}

// logfmtValue quotes a value of a pretty line when it holds anything but letters, digits and -._/@^+.
func logfmtValue(s string) string {
	if logfmtSafe(s) {
		return s
	}

	return strconv.Quote(s)
}

// logfmtLine renders a pretty line as the stock client prints it when its output is not a terminal: time, level
// and message, then the fields in key order.
func logfmtLine(ts time.Time, level string, msg string, fields map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "time=%s level=%s msg=%s", logfmtValue(ts.Local().Format(time.RFC3339)), level, logfmtValue(msg))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, logfmtValue(fields[k]))
	}

	return b.String()
}

// prettyEvent renders an event on one line and returns its level: logging events keep theirs, operation and
// lifecycle events are info.
func prettyEvent(ev api.Event) (string, string) {
	switch ev.Type {
	case api.EventTypeLogging:
		var rec api.EventLogging
		_ = json.Unmarshal(ev.Metadata, &rec)
		level := normalizeLevel(rec.Level)
		return level, logfmtLine(ev.Timestamp, level, rec.Message, rec.Context)
	case api.EventTypeLifecycle:
		var lc api.EventLifecycle
		_ = json.Unmarshal(ev.Metadata, &lc)
		msg := fmt.Sprintf("Action: %s, Source: %s", lc.Action, lc.Source)
		if lc.Requestor != nil {
			msg += fmt.Sprintf(", Requestor: %s/%s (%s)", lc.Requestor.Protocol, lc.Requestor.Username,
				lc.Requestor.Address)
		}

		fields := make(map[string]string, len(lc.Context))
		for k, v := range lc.Context {
			fields[k] = fmt.Sprint(v)
		}

		return "info", logfmtLine(ev.Timestamp, "info", msg, fields)
	case api.EventTypeOperation:
		var op api.Operation
		_ = json.Unmarshal(ev.Metadata, &op)
		msg := fmt.Sprintf("ID: %s, Class: %s, Description: %s", op.ID, op.Class, op.Description)
		fields := map[string]string{
			"CreatedAt": op.CreatedAt.String(), "UpdatedAt": op.UpdatedAt.String(), "Err": op.Err,
			"Location": op.Location, "MayCancel": strconv.FormatBool(op.MayCancel), "Status": op.Status,
			"StatusCode": op.StatusCode.String(), "Metadata": fmt.Sprint(op.Metadata),
			"Resources": fmt.Sprint(op.Resources),
		}

		return "info", logfmtLine(ev.Timestamp, "info", msg, fields)
	}

	return "info", logfmtLine(ev.Timestamp, "info", "Event: "+ev.Type, map[string]string{"Metadata": string(ev.Metadata)})
}
