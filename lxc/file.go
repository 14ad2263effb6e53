package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/shared/api"
)

type cmdFile struct {
	global *cmdGlobal

	flagUID        int
	flagGID        int
	flagMode       string
	flagCreateDirs bool
	flagRecursive  bool
}

func (c *cmdFile) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "file",
		Short: "Manage files in instances",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}

	push := &cobra.Command{
		Use:   "push <source path>... [<remote>:]<instance>/<path>",
		Short: "Push files into instances",
		RunE:  c.push,
	}

	push.Flags().IntVar(&c.flagUID, "uid", -1, "Set the file's uid on push")
	push.Flags().IntVar(&c.flagGID, "gid", -1, "Set the file's gid on push")
	push.Flags().StringVar(&c.flagMode, "mode", "", "Set the file's perms on push")
	push.Flags().BoolVarP(&c.flagCreateDirs, "create-dirs", "p", false, "Create any directories necessary")
	push.Flags().BoolVarP(&c.flagRecursive, "recursive", "r", false, "Recursively transfer files")

	pull := &cobra.Command{
		Use:   "pull [<remote>:]<instance>/<path>... <target path>",
		Short: "Pull files from instances",
		RunE:  c.pull,
	}

	pull.Flags().BoolVarP(&c.flagRecursive, "recursive", "r", false, "Recursively transfer files")
	pull.Flags().BoolVarP(&c.flagCreateDirs, "create-dirs", "p", false, "Create any directories necessary")

	del := &cobra.Command{
		Use:     "delete [<remote>:]<instance>/<path>...",
		Aliases: []string{"rm"},
		Short:   "Delete files in instances",
		RunE:    c.delete,
	}

	edit := &cobra.Command{
		Use:   "edit [<remote>:]<instance>/<path>",
		Short: "Edit files in instances",
		Long: "Edit files in instances\n\nThe file is opened in $VISUAL or $EDITOR; when the standard input is not a " +
			"terminal, its content replaces the file instead. The file keeps its owner and mode.",
		Args: cobra.ExactArgs(1),
		RunE: c.edit,
	}

	cmd.AddCommand(push, pull, del, edit)
	return cmd
}

// instancePath splits "[remote:]instance/path" into its server, instance name and path.
func (c *cmdFile) instancePath(arg string) (client.InstanceServer, string, string, error) {
	remote, rest, err := c.global.conf.ParseRemote(arg)
	if err != nil {
		return nil, "", "", err
	}

	name, p, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		return nil, "", "", fmt.Errorf("invalid target %q, expected <instance>/<path>", arg)
	}

	d, err := c.global.conf.GetInstanceServer(remote)
	if err != nil {
		return nil, "", "", err
	}

	return d, name, "/" + p, nil
}

func (c *cmdFile) push(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, -1)
	if exit {
		return err
	}

	sources := args[:len(args)-1]
	target := args[len(args)-1]
	d, name, dest, err := c.instancePath(target)
	if err != nil {
		return err
	}

	toDir := strings.HasSuffix(dest, "/") || len(sources) > 1
	mode := -1
	if c.flagMode != "" {
		m, err := strconv.ParseInt(c.flagMode, 8, 32)
		if err != nil {
			return fmt.Errorf("invalid mode %q", c.flagMode)
		}

		mode = int(m)
	}

	for _, src := range sources {
		p := dest
		if toDir || c.flagRecursive {
			// A recursive push puts each source under the target directory, as LXD does.
			p = path.Join(dest, filepath.Base(src))
		}

		if c.flagCreateDirs {
			err = c.mkdirAll(d, name, path.Dir(p))
			if err != nil {
				return err
			}
		}

		if c.flagRecursive && src != "-" {
			err = c.pushTree(d, name, src, p, mode)
		} else {
			err = c.pushOne(d, name, src, p, mode)
		}

		if err != nil {
			return err
		}
	}

	return nil
}

// pushTree pushes the local tree src to dest in the instance: directories, files and symlinks, with their modes
// (mode, when not negative, for the files) and owners (unless --uid or --gid say otherwise).
func (c *cmdFile) pushTree(d client.InstanceServer, name string, src string, dest string, mode int) error {
	return filepath.Walk(src, func(local string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}

		rel, err := filepath.Rel(src, local)
		if err != nil {
			return err
		}

		target := path.Join(dest, filepath.ToSlash(rel))
		uid, gid := c.owner(info)
		switch {
		case info.IsDir():
			return d.CreateInstanceFile(name, target, client.InstanceFileArgs{Type: "directory",
				Mode: int(info.Mode().Perm()), UID: uid, GID: gid})
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(local)
			if err != nil {
				return err
			}

			return d.CreateInstanceFile(name, target, client.InstanceFileArgs{Type: "symlink",
				Content: strings.NewReader(link), Mode: -1, UID: uid, GID: gid})
		case info.Mode().IsRegular():
			return c.pushOne(d, name, local, target, mode)
		}

		// Devices, fifos and sockets are not transferred.
		return nil
	})
}

// owner returns the owner a pushed entry gets: the local file's, unless --uid or --gid say otherwise.
func (c *cmdFile) owner(info os.FileInfo) (int64, int64) {
	uid, gid := int64(0), int64(0)
	st, ok := info.Sys().(*syscall.Stat_t)
	if ok {
		uid, gid = int64(st.Uid), int64(st.Gid)
	}

	if c.flagUID >= 0 {
		uid = int64(c.flagUID)
	}

	if c.flagGID >= 0 {
		gid = int64(c.flagGID)
	}

	return uid, gid
}

// mkdirAll creates the parents of a path in the instance.
func (c *cmdFile) mkdirAll(d client.InstanceServer, name string, dir string) error {
	cur := ""
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}

		cur += "/" + part
		err := d.CreateInstanceFile(name, cur, client.InstanceFileArgs{Type: "directory", Mode: 0o755, UID: 0, GID: 0})
		if err != nil {
			return err
		}
	}

	return nil
}

func (c *cmdFile) pushOne(d client.InstanceServer, name string, src string, dest string, mode int) error {
	var f *os.File
	var err error
	uid, gid := int64(0), int64(0)
	if src == "-" {
		f = os.Stdin
		if mode < 0 {
			mode = 0o644
		}
	} else {
		f, err = os.Open(src)
		if err != nil {
			return err
		}

		defer func() { _ = f.Close() }()
		info, err := f.Stat()
		if err != nil {
			return err
		}

		if info.IsDir() {
			return fmt.Errorf("%s is a directory (use -r to push it with its content)", src)
		}

		uid, gid = c.owner(info)
		if mode < 0 {
			mode = int(info.Mode().Perm())
		}
	}

	if src == "-" {
		if c.flagUID >= 0 {
			uid = int64(c.flagUID)
		}

		if c.flagGID >= 0 {
			gid = int64(c.flagGID)
		}
	}

	return d.CreateInstanceFile(name, dest, client.InstanceFileArgs{Content: f, UID: uid, GID: gid, Mode: mode, Type: "file"})
}

func (c *cmdFile) pull(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 2, -1)
	if exit {
		return err
	}

	sources := args[:len(args)-1]
	target := args[len(args)-1]
	if c.flagCreateDirs && target != "-" {
		err = os.MkdirAll(target, 0o755)
		if err != nil {
			return err
		}
	}

	info, statErr := os.Stat(target)
	targetIsDir := statErr == nil && info.IsDir()
	if len(sources) > 1 && !targetIsDir {
		return errors.New("more than one file to pull and the target is not a directory")
	}

	for _, src := range sources {
		d, name, p, err := c.instancePath(src)
		if err != nil {
			return err
		}

		content, resp, err := d.GetInstanceFile(name, strings.TrimPrefix(p, "/"))
		if err != nil {
			return err
		}

		if resp.Type == "directory" {
			_ = content.Close()
			if !c.flagRecursive {
				return fmt.Errorf("%s is a directory (use -r to pull it with its content)", p)
			}

			dest := target
			if targetIsDir {
				dest = filepath.Join(target, path.Base(p))
			}

			err = c.pullTree(cmd, d, name, p, dest, resp)
			if err != nil {
				return err
			}

			continue
		}

		err = c.writeLocal(cmd, content, target, targetIsDir, path.Base(p), resp)
		_ = content.Close()
		if err != nil {
			return err
		}
	}

	return nil
}

// pullTree pulls the instance directory p (already read: resp) into the local directory dest, recursively.
func (c *cmdFile) pullTree(cmd *cobra.Command, d client.InstanceServer, name string, p string, dest string, resp *client.InstanceFileResponse) error {
	err := os.Mkdir(dest, os.FileMode(resp.Mode&0o777)|0o700)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}

	for _, entry := range resp.Entries {
		if entry == "" || entry == "." || entry == ".." || strings.Contains(entry, "/") {
			return fmt.Errorf("invalid directory entry %q in %s", entry, p)
		}

		child := path.Join(p, entry)
		content, info, err := d.GetInstanceFile(name, strings.TrimPrefix(child, "/"))
		if err != nil {
			return err
		}

		if info.Type == "directory" {
			_ = content.Close()
			err = c.pullTree(cmd, d, name, child, filepath.Join(dest, entry), info)
		} else {
			err = c.writeLocal(cmd, content, filepath.Join(dest, entry), false, entry, info)
			_ = content.Close()
		}

		if err != nil {
			return err
		}
	}

	return nil
}

// writeLocal writes pulled content to the target path (a file, a directory, or - for stdout).
func (c *cmdFile) writeLocal(cmd *cobra.Command, content io.Reader, target string, targetIsDir bool, base string, resp *client.InstanceFileResponse) error {
	if target == "-" {
		_, err := io.Copy(cmd.OutOrStdout(), content)
		return err
	}

	dest := target
	if targetIsDir {
		dest = filepath.Join(target, base)
	}

	if resp.Type == "symlink" {
		link, err := io.ReadAll(io.LimitReader(content, 4096))
		if err != nil {
			return err
		}

		_ = os.Remove(dest)
		return os.Symlink(string(link), dest)
	}

	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(resp.Mode&0o7777))
	if err != nil {
		return err
	}

	_, err = io.Copy(f, content)
	if err != nil {
		_ = f.Close()
		return err
	}

	return f.Close()
}

func (c *cmdFile) delete(cmd *cobra.Command, args []string) error {
	exit, err := checkArgs(cmd, args, 1, -1)
	if exit {
		return err
	}

	for _, arg := range args {
		d, name, p, err := c.instancePath(arg)
		if err != nil {
			return err
		}

		err = d.DeleteInstanceFile(name, p)
		if err != nil {
			return err
		}
	}

	return nil
}

// edit replaces a file of an instance with what the user writes in the editor (or with the standard input when it
// is not a terminal), keeping the file's owner and mode.
func (c *cmdFile) edit(cmd *cobra.Command, args []string) error {
	d, name, p, err := c.instancePath(args[0])
	if err != nil {
		return err
	}

	file := client.InstanceFileArgs{UID: 0, GID: 0, Mode: 0o644, Type: "file"}
	content, resp, err := d.GetInstanceFile(name, p)
	stdin := cmd.InOrStdin()
	if err != nil && (readerIsTerminal(stdin) || !api.StatusErrorCheck(err, http.StatusNotFound)) {
		return err
	}

	var current []byte
	if err == nil {
		defer func() { _ = content.Close() }()
		if resp.Type != "file" {
			return fmt.Errorf("%s is a %s, not a file", p, resp.Type)
		}

		current, err = io.ReadAll(content)
		if err != nil {
			return err
		}

		file.UID, file.GID, file.Mode = resp.UID, resp.GID, resp.Mode&0o7777
	}

	var edited []byte
	if readerIsTerminal(stdin) {
		edited, err = textEditor(current)
	} else {
		edited, err = io.ReadAll(stdin)
	}

	if err != nil {
		return err
	}

	file.Content = bytes.NewReader(edited)
	return d.CreateInstanceFile(name, p, file)
}
