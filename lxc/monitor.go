package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/shared/api"
)

type cmdMonitor struct {
	global *cmdGlobal

	flagType     []string
	flagPretty   bool
	flagLogLevel string
}

func (c *cmdMonitor) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitor [<remote>:]",
		Short: "Monitor a server for events",
		Long: `Monitor a server for events

Prints every event of the server (operation, lifecycle and logging) as YAML, each followed by blank lines, until
interrupted. --type restricts the event types and may be repeated; --loglevel sets the lowest level of the logging
events shown (debug, info, warning, error).`,
		Args: cobra.MaximumNArgs(1),
		RunE: c.run,
	}

	cmd.Flags().StringSliceVar(&c.flagType, "type", nil, "Event type to listen for (operation, lifecycle, logging)")
	cmd.Flags().BoolVar(&c.flagPretty, "pretty", false, "Pretty rendering (short one line events)")
	cmd.Flags().StringVar(&c.flagLogLevel, "loglevel", "", "Minimum level for log messages (debug, info, warning, error)")
	return cmd
}

// logLevels orders the levels of logging events.
var logLevels = []string{"debug", "info", "warning", "error"}

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

	for _, t := range c.flagType {
		if !slices.Contains([]string{api.EventTypeOperation, api.EventTypeLifecycle, api.EventTypeLogging}, t) {
			return fmt.Errorf("invalid event type %q", t)
		}
	}

	minLevel := 0
	if c.flagLogLevel != "" {
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
		if ev.Type == api.EventTypeLogging && minLevel > 0 {
			var rec api.EventLogging
			_ = json.Unmarshal(ev.Metadata, &rec)
			if slices.Index(logLevels, normalizeLevel(rec.Level)) < minLevel {
				return
			}
		}

		mu.Lock()
		defer mu.Unlock()
		err := printEvent(os.Stdout, ev, c.flagPretty)
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

// printEvent writes one event: YAML (keys sorted, as LXD prints them) and blank lines, or one line with pretty.
func printEvent(w io.Writer, ev api.Event, pretty bool) error {
	if pretty {
		_, err := fmt.Fprintln(w, prettyEvent(ev))
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

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	err = enc.Encode(generic)
	if err != nil {
		return err
	}

	// LXD's client prints each document followed by two newlines; scripts parsing its output expect that.
	_, err = fmt.Fprintf(w, "%s\n\n", buf.Bytes())
	return err
}

// prettyEvent renders an event on one line: level, time, then what happened.
func prettyEvent(ev api.Event) string {
	ts := ev.Timestamp.Local().Format(time.RFC3339)
	switch ev.Type {
	case api.EventTypeLogging:
		var rec api.EventLogging
		_ = json.Unmarshal(ev.Metadata, &rec)
		keys := make([]string, 0, len(rec.Context))
		for k := range rec.Context {
			keys = append(keys, k)
		}

		sort.Strings(keys)
		line := fmt.Sprintf("%-7s [%s] %s", strings.ToUpper(rec.Level), ts, rec.Message)
		for _, k := range keys {
			line += fmt.Sprintf(" %s=%q", k, rec.Context[k])
		}

		return line
	case api.EventTypeLifecycle:
		var lc api.EventLifecycle
		_ = json.Unmarshal(ev.Metadata, &lc)
		line := fmt.Sprintf("%-7s [%s] action=%s source=%s", "INFO", ts, lc.Action, lc.Source)
		if lc.Requestor != nil && lc.Requestor.Username != "" {
			line += fmt.Sprintf(" requestor=%s/%s", lc.Requestor.Protocol, lc.Requestor.Username)
		}

		return line
	case api.EventTypeOperation:
		var op api.Operation
		_ = json.Unmarshal(ev.Metadata, &op)
		line := fmt.Sprintf("%-7s [%s] operation=%s class=%s description=%q status=%s", "INFO", ts, op.ID, op.Class,
			op.Description, op.Status)
		if op.Err != "" {
			line += fmt.Sprintf(" err=%q", op.Err)
		}

		return line
	}

	return fmt.Sprintf("%-7s [%s] type=%s %s", "INFO", ts, ev.Type, string(ev.Metadata))
}
