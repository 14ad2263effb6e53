package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// removeUnfinished removes what a crash left of the pool's own changes: the .tmp- directories of unpacks,
// container creations, copies, restores and snapshots, and the tombstones of image bases and of single snapshots
// being removed. The tombstones of whole containers are left to the instance manager (DeletedContainers).
func (p *Pool) removeUnfinished() {
	dirs := []string{filepath.Join(p.dir, "images"), filepath.Join(p.dir, "containers"), p.OrphansPath()}
	snaps, _ := os.ReadDir(filepath.Join(p.dir, "containers-snapshots"))
	for _, e := range snaps {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, p.snapshotsPath(e.Name()))
		}
	}

	var unfinished, entombed []string
	for i, dir := range dirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			path := filepath.Join(dir, e.Name())
			if strings.HasPrefix(e.Name(), ".tmp-") {
				unfinished = append(unfinished, path)
			}

			// The containers directory (index 1) keeps its tombstones for the instance manager.
			_, ok := tombstoneOwner(e.Name())
			if ok && i != 1 {
				entombed = append(entombed, path)
			}
		}
	}

	_ = removeAll(unfinished, "removing storage left unfinished by a crash")
	_ = removeAll(entombed, "finishing the removal of storage a crash interrupted")
}

// listDirs returns the names of the directories in dir that do not start with a dot; a missing dir is empty.
func listDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}

	return out, nil
}

// Containers lists the names of the containers that have storage in the pool.
func (p *Pool) Containers() ([]string, error) {
	return listDirs(filepath.Join(p.dir, "containers"))
}

// SnapshotOwners lists the names of the containers that have snapshot storage in the pool.
func (p *Pool) SnapshotOwners() ([]string, error) {
	return listDirs(filepath.Join(p.dir, "containers-snapshots"))
}

// SnapshotNames lists the snapshots of a container that have storage in the pool.
func (p *Pool) SnapshotNames(name string) ([]string, error) {
	return listDirs(p.snapshotsPath(name))
}

// OrphansPath returns the directory where storage that no record owns is set aside.
func (p *Pool) OrphansPath() string {
	return filepath.Join(p.dir, "orphans")
}

// setAside moves path under orphans/ as <label>.<unix time> and returns where it went.
func (p *Pool) setAside(path string, label string) (string, error) {
	err := os.MkdirAll(p.OrphansPath(), 0o700)
	if err != nil {
		return "", err
	}

	dest := filepath.Join(p.OrphansPath(), fmt.Sprintf("%s.%d", label, time.Now().UnixNano()))
	err = os.Rename(path, dest)
	if err != nil {
		return "", fmt.Errorf("setting aside %s: %w", path, err)
	}

	return dest, nil
}

// SetAsideContainer unmounts a container's storage and moves it, with its snapshots, to the orphans directory, so
// that a container without a record neither blocks its name nor loses data. It returns the new place.
func (p *Pool) SetAsideContainer(name string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()

	err := unmount(p.ContainerRootfs(name))
	if err != nil {
		return "", err
	}

	dest, err := p.setAside(p.ContainerPath(name), name)
	if err != nil {
		return "", err
	}

	err = os.Rename(p.snapshotsPath(name), filepath.Join(dest, "snapshots"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dest, err
	}

	return dest, nil
}

// SetAsideSnapshot moves the storage of one snapshot to the orphans directory and returns the new place.
func (p *Pool) SetAsideSnapshot(name string, snap string) (string, error) {
	dest, err := p.setAside(p.SnapshotPath(name, snap), name+"."+snap)
	if err != nil {
		return "", err
	}

	_ = os.Remove(p.snapshotsPath(name))
	return dest, nil
}

// Orphan is one entry of the orphans directory: the instance it was set aside from and, for a snapshot, the
// snapshot's name.
type Orphan struct {
	Path     string
	Instance string
	Snapshot string
}

// Orphans lists the entries of the orphans directory: <instance>.<nanoseconds> for a container,
// <instance>.<snapshot>.<nanoseconds> for a snapshot (instance names have no dots).
func (p *Pool) Orphans() ([]Orphan, error) {
	entries, err := os.ReadDir(p.OrphansPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	var out []Orphan
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}

		label := e.Name()
		i := strings.LastIndex(label, ".")
		if i > 0 {
			label = label[:i]
		}

		inst, snap, _ := strings.Cut(label, ".")
		out = append(out, Orphan{Path: filepath.Join(p.OrphansPath(), e.Name()), Instance: inst, Snapshot: snap})
	}

	return out, nil
}

// RemoveOrphan removes one entry of the orphans directory, renaming it out of the way first.
func (p *Pool) RemoveOrphan(o Orphan) error {
	return removeEntombed(o.Path, "")
}
