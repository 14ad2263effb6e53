package rest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var instanceFilesCmd = Endpoint{
	Path:   "instances/{name}/files",
	Get:    Action{Handler: instanceFileGet, Access: allowTrusted},
	Post:   Action{Handler: instanceFilePost, Access: allowTrusted},
	Delete: Action{Handler: instanceFileDelete, Access: allowTrusted},
}

var containerFilesCmd = containerAlias(instanceFilesCmd)

// filePath turns the path query parameter (absolute on push, relative on pull) into a path relative to the root.
func filePath(r *http.Request) (string, error) {
	p := r.URL.Query().Get("path")
	if p == "" {
		return "", api.StatusErrorf(http.StatusBadRequest, "missing path")
	}

	if strings.ContainsRune(p, 0) {
		return "", api.StatusErrorf(http.StatusBadRequest, "invalid path %q: it contains a NUL byte", p)
	}

	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}

	return rel, nil
}

// fileOwner reports the container uid and gid of a host file.
func fileOwner(info fs.FileInfo, idmap *instance.IDMap) (int, int) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1
	}

	if idmap == nil {
		return int(st.Uid), int(st.Gid)
	}

	return idmap.Unshift(int(st.Uid), int(st.Gid))
}

// fileHeaders are the X-LXD-* headers describing a file.
func fileHeaders(info fs.FileInfo, idmap *instance.IDMap, kind string) map[string]string {
	uid, gid := fileOwner(info, idmap)
	return map[string]string{
		"X-LXD-uid":      strconv.Itoa(uid),
		"X-LXD-gid":      strconv.Itoa(gid),
		"X-LXD-mode":     fmt.Sprintf("%04o", unixMode(info.Mode())),
		"X-LXD-type":     kind,
		"X-LXD-modified": info.ModTime().UTC().String(),
	}
}

func instanceFileGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	rel, err := filePath(r)
	if err != nil {
		return response.SmartError(err)
	}

	var file *os.File
	var info fs.FileInfo
	var headers map[string]string
	var entries []string
	var target string
	err = s.Instances.WithRootfs(r.Context(), name, func(root *os.Root, idmap *instance.IDMap) error {
		rel, err := instance.ResolveParents(root, rel)
		if err != nil {
			return err
		}

		info, err = root.Lstat(rel)
		if err != nil {
			return err
		}

		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			headers = fileHeaders(info, idmap, "symlink")
			target, err = root.Readlink(rel)
			return err
		case info.IsDir():
			headers = fileHeaders(info, idmap, "directory")
			dir, err := root.Open(rel)
			if err != nil {
				return err
			}

			defer func() { _ = dir.Close() }()
			entries, err = dir.Readdirnames(-1)
			if entries == nil {
				entries = []string{}
			}

			return err
		case info.Mode().IsRegular():
			headers = fileHeaders(info, idmap, "file")
			file, err = root.Open(rel)
			return err
		}

		return api.StatusErrorf(http.StatusBadRequest, "%s is not a file, directory or symlink", rel)
	})
	if err != nil {
		return fileError(err, r.URL.Query().Get("path"))
	}

	if entries != nil {
		return response.SyncResponseHeaders(entries, headers)
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		for k, v := range headers {
			w.Header().Set(k, v)
		}

		w.Header().Set("Content-Type", "application/octet-stream")
		if file == nil {
			w.Header().Set("Content-Length", strconv.Itoa(len(target)))
			w.WriteHeader(http.StatusOK)
			_, err := io.WriteString(w, target)
			return err
		}

		defer func() { _ = file.Close() }()
		w.Header().Set("Content-Disposition", "inline;filename="+path.Base(rel))
		http.ServeContent(w, r, path.Base(rel), info.ModTime(), file)
		return nil
	})
}

// headerInt reads an integer header, def when absent.
func headerInt(r *http.Request, name string, base int, def int) (int, error) {
	v := r.Header.Get(name)
	if v == "" {
		return def, nil
	}

	n, err := strconv.ParseInt(v, base, 32)
	if err != nil {
		return 0, api.StatusErrorf(http.StatusBadRequest, "invalid %s header %q", name, v)
	}

	return int(n), nil
}

func instanceFilePost(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	rel, err := filePath(r)
	if err != nil {
		return response.SmartError(err)
	}

	// An id the client does not send keeps the existing file's, as LXD does; a new file gets the container's root.
	uid, err := headerInt(r, "X-LXD-uid", 10, -1)
	if err != nil {
		return response.SmartError(err)
	}

	gid, err := headerInt(r, "X-LXD-gid", 10, -1)
	if err != nil {
		return response.SmartError(err)
	}

	mode, err := headerInt(r, "X-LXD-mode", 8, -1)
	if err != nil {
		return response.SmartError(err)
	}

	// A negative mode keeps the existing file's, as LXD's client sends -1 ("-001") for it.
	if mode > 0o7777 {
		return response.BadRequest(fmt.Errorf("invalid X-LXD-mode header %q: not an octal mode up to 7777", r.Header.Get("X-LXD-mode")))
	}

	mode = max(mode, -1)

	kind := r.Header.Get("X-LXD-type")
	if kind == "" {
		kind = "file"
	}

	write := r.Header.Get("X-LXD-write")
	if write != "" && write != "overwrite" && write != "append" {
		return response.BadRequest(fmt.Errorf("invalid X-LXD-write %q", write))
	}

	if rel == "." {
		return response.BadRequest(errors.New("cannot write the root directory"))
	}

	err = s.Instances.WithRootfs(r.Context(), name, func(root *os.Root, idmap *instance.IDMap) error {
		rel, err := instance.ResolveParents(root, rel)
		if err != nil {
			return err
		}

		hostUID, hostGID := max(uid, 0), max(gid, 0)
		if idmap != nil {
			hostUID, hostGID, err = idmap.Shift(hostUID, hostGID)
			if err != nil {
				return api.StatusErrorf(http.StatusBadRequest, "%v", err)
			}
		}

		switch kind {
		case "file":
			o := fileOwnerChange{uid: hostUID, gid: hostGID, keepUID: uid < 0, keepGID: gid < 0}
			return writeFile(root, rel, r.Body, write == "append", mode, o)
		case "directory":
			if mode < 0 {
				mode = 0o755
			}

			err := root.Mkdir(rel, 0o700)
			if err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}

			err = root.Lchown(rel, hostUID, hostGID)
			if err != nil {
				return err
			}

			// After the owner, whose change clears the setuid and setgid bits.
			return root.Chmod(rel, fileMode(mode))
		case "symlink":
			target, err := io.ReadAll(io.LimitReader(r.Body, 4096))
			if err != nil {
				return err
			}

			if len(target) == 0 || bytes.IndexByte(target, 0) >= 0 {
				return api.StatusErrorf(http.StatusBadRequest, "invalid symlink target %q: empty or with a NUL byte", target)
			}

			_ = root.Remove(rel)
			err = root.Symlink(string(target), rel)
			if err != nil {
				return err
			}

			return root.Lchown(rel, hostUID, hostGID)
		}

		return api.StatusErrorf(http.StatusBadRequest, "invalid X-LXD-type %q", kind)
	})
	if err != nil {
		return fileError(err, r.URL.Query().Get("path"))
	}

	return response.EmptySyncResponse
}

// specialModes pairs the unix setuid, setgid and sticky bits with Go's own.
var specialModes = []struct {
	bit  int
	flag fs.FileMode
}{{0o4000, fs.ModeSetuid}, {0o2000, fs.ModeSetgid}, {0o1000, fs.ModeSticky}}

// fileMode turns a unix mode (0o4755) into an fs.FileMode.
func fileMode(mode int) fs.FileMode {
	m := fs.FileMode(mode & 0o777)
	for _, sm := range specialModes {
		if mode&sm.bit != 0 {
			m |= sm.flag
		}
	}

	return m
}

// unixMode is the inverse of fileMode: the permission, setuid, setgid and sticky bits of m as a unix mode.
func unixMode(m fs.FileMode) int {
	mode := int(m.Perm())
	for _, sm := range specialModes {
		if m&sm.flag != 0 {
			mode |= sm.bit
		}
	}

	return mode
}

// isPathEscape reports whether err is os.Root refusing a path that leads out of the root: through "..", an
// absolute symlink or a relative one climbing above the root.
func isPathEscape(err error) bool {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && pathErr.Err != nil && pathErr.Err.Error() == "path escapes from parent" {
		return true
	}

	var linkErr *os.LinkError
	return errors.As(err, &linkErr) && linkErr.Err != nil && linkErr.Err.Error() == "path escapes from parent"
}

// fileError answers a file request that failed: a missing path is a 404; a path leading out of the instance's
// root through a symlink, or naming a file where a directory is needed (or the reverse), is the client's error.
func fileError(err error, p string) response.Response {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return response.NotFound(fmt.Errorf("%s not found in the instance", p))
	case isPathEscape(err):
		return response.BadRequest(fmt.Errorf("path %q escapes from the instance through a symlink", p))
	case errors.Is(err, syscall.ENOTDIR):
		return response.BadRequest(fmt.Errorf("path %q: a component is not a directory", p))
	case errors.Is(err, syscall.EISDIR):
		return response.BadRequest(fmt.Errorf("path %q is a directory", p))
	case errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EEXIST):
		return response.BadRequest(fmt.Errorf("path %q: %w", p, errors.Unwrap(err)))
	case errors.Is(err, syscall.ELOOP):
		return response.BadRequest(fmt.Errorf("path %q: too many levels of symbolic links", p))
	case errors.Is(err, syscall.ENAMETOOLONG):
		return response.BadRequest(fmt.Errorf("path %q is too long", p))
	}

	return response.SmartError(err)
}

// fileOwnerChange is the host owner a written file gets; keepUID and keepGID keep an existing file's ids instead.
type fileOwnerChange struct {
	uid, gid         int
	keepUID, keepGID bool
}

// writeFile writes body to rel under root (truncating or appending), never through a symlink: an existing
// symlink at rel is replaced.
func writeFile(root *os.Root, rel string, body io.Reader, appendTo bool, mode int, owner fileOwnerChange) error {
	info, err := root.Lstat(rel)
	exists := err == nil
	if exists && info.Mode()&fs.ModeSymlink != 0 {
		err = root.Remove(rel)
		if err != nil {
			return err
		}

		exists = false
	}

	if exists && info.IsDir() {
		return api.StatusErrorf(http.StatusBadRequest, "%s is a directory", rel)
	}

	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC | syscall.O_NOFOLLOW
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND | syscall.O_NOFOLLOW
	}

	perm := fs.FileMode(0o644)
	if mode >= 0 {
		perm = fileMode(mode)
	} else if exists {
		perm = info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	}

	// Created with the permission bits only (os.Root takes no others); the full mode is set after the owner.
	f, err := root.OpenFile(rel, flags, perm.Perm())
	if err != nil {
		return err
	}

	_, err = io.Copy(f, body)
	if err != nil {
		_ = f.Close()
		return err
	}

	uid, gid := owner.uid, owner.gid
	if exists && owner.keepUID {
		uid = -1
	}

	if exists && owner.keepGID {
		gid = -1
	}

	err = f.Chown(uid, gid)
	if err != nil {
		_ = f.Close()
		return err
	}

	err = f.Chmod(perm)
	if err != nil {
		_ = f.Close()
		return err
	}

	return f.Close()
}

func instanceFileDelete(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	rel, err := filePath(r)
	if err != nil {
		return response.SmartError(err)
	}

	if rel == "." {
		return response.BadRequest(errors.New("cannot delete the root directory"))
	}

	err = s.Instances.WithRootfs(r.Context(), name, func(root *os.Root, idmap *instance.IDMap) error {
		rel, err := instance.ResolveParents(root, rel)
		if err != nil {
			return err
		}

		return root.Remove(rel)
	})
	if err != nil {
		return fileError(err, r.URL.Query().Get("path"))
	}

	return response.EmptySyncResponse
}
