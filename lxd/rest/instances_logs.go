package rest

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var instanceLogsCmd = Endpoint{
	Path: "instances/{name}/logs",
	Get:  Action{Handler: instanceLogsGet, Access: allowTrusted},
}

var instanceLogCmd = Endpoint{
	Path:   "instances/{name}/logs/{file}",
	Get:    Action{Handler: instanceLogGet, Access: allowTrusted},
	Delete: Action{Handler: instanceLogDelete, Access: allowTrusted},
}

var (
	containerLogsCmd = containerAlias(instanceLogsCmd)
	containerLogCmd  = containerAlias(instanceLogCmd)
)

// validLogName reports whether name is a log file the API serves: one path element naming the driver's log and
// configuration, or a file recorded for an exec, a snapshot or a migration.
func validLogName(name string) bool {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return false
	}

	if name == "lxc.log" || name == "lxc.conf" {
		return true
	}

	for _, prefix := range []string{"exec_", "snapshot_", "migration_"} {
		if strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
			return true
		}
	}

	return false
}

// logFileName reads and validates the {file} path variable.
func logFileName(r *http.Request) (string, error) {
	file, err := request.PathVar(r, "file")
	if err != nil {
		return "", err
	}

	if !validLogName(file) {
		return "", api.StatusErrorf(http.StatusBadRequest, "log file name %q not valid", file)
	}

	return file, nil
}

// logURL is the API path of one log file of an instance.
func logURL(name string, file string) string {
	return instance.URL(name) + "/logs/" + file
}

func instanceLogsGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	entries, err := os.ReadDir(s.Instances.LogPath(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return response.SmartError(err)
	}

	urls := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() && validLogName(e.Name()) {
			urls = append(urls, logURL(name, e.Name()))
		}
	}

	sort.Strings(urls)
	return response.SyncResponse(urls)
}

// openLog opens a regular file of an instance's log directory without following a symlink.
func openLog(dir string, file string) (*os.File, fs.FileInfo, error) {
	fd, err := unix.Open(filepath.Join(dir, file), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil, api.StatusErrorf(http.StatusNotFound, "log file %q not found", file)
	}

	if errors.Is(err, unix.ELOOP) {
		return nil, nil, api.StatusErrorf(http.StatusBadRequest, "log file %q is not a regular file", file)
	}

	if err != nil {
		return nil, nil, fmt.Errorf("opening log file %q: %w", file, err)
	}

	f := os.NewFile(uintptr(fd), file)
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}

	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, api.StatusErrorf(http.StatusBadRequest, "log file %q is not a regular file", file)
	}

	return f, info, nil
}

func instanceLogGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	file, err := logFileName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	f, info, err := openLog(s.Instances.LogPath(name), file)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycleBy(s, request.GetRequestor(r), "instance-log-retrieved", logURL(name, file), nil)
	return response.ManualResponse(func(w http.ResponseWriter) error {
		defer func() { _ = f.Close() }()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "inline;filename="+file)
		http.ServeContent(w, r, file, info.ModTime(), f)
		return nil
	})
}

func instanceLogDelete(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	file, err := logFileName(r)
	if err != nil {
		return response.SmartError(err)
	}

	if file == "lxc.log" || file == "lxc.conf" {
		return response.BadRequest(errors.New("lxc.log and lxc.conf may not be deleted"))
	}

	err = s.Instances.Exists(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	dir := s.Instances.LogPath(name)
	f, _, err := openLog(dir, file)
	if err != nil {
		return response.SmartError(err)
	}

	_ = f.Close()
	err = os.Remove(filepath.Join(dir, file))
	if err != nil {
		return response.SmartError(err)
	}

	lifecycleBy(s, request.GetRequestor(r), "instance-log-deleted", logURL(name, file), nil)
	return response.EmptySyncResponse
}

// serveBytes writes data as a raw file response.
func serveBytes(data []byte, filename string) response.Response {
	return response.ManualResponse(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "inline;filename="+filename)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(data)
		return err
	})
}
