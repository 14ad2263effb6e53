package rest

import (
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
		"X-LXD-mode":     fmt.Sprintf("%04o", info.Mode().Perm()|info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)),
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
		var err error
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
	if errors.Is(err, fs.ErrNotExist) {
		return response.NotFound(fmt.Errorf("%s not found in the instance", r.URL.Query().Get("path")))
	}

	if err != nil {
		return response.SmartError(err)
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

			err := root.Mkdir(rel, fs.FileMode(mode))
			if err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}

			err = root.Chmod(rel, fs.FileMode(mode))
			if err != nil {
				return err
			}

			return root.Lchown(rel, hostUID, hostGID)
		case "symlink":
			target, err := io.ReadAll(io.LimitReader(r.Body, 4096))
			if err != nil {
				return err
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
		return response.SmartError(err)
	}

	return response.EmptySyncResponse
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
		perm = fs.FileMode(mode)
	} else if exists {
		perm = info.Mode().Perm()
	}

	f, err := root.OpenFile(rel, flags, perm)
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
		return root.Remove(rel)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return response.NotFound(fmt.Errorf("%s not found in the instance", r.URL.Query().Get("path")))
	}

	if err != nil {
		return response.SmartError(err)
	}

	return response.EmptySyncResponse
}
