package backup

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/lxd/images"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
)

// describe builds the config of a backup: the instance, its snapshots and the storage they are on, as LXD
// records them.
func describe(src *instance.BackupSource) *Config {
	cfg := &Config{Container: &src.Instance}
	cfg.Pool = &api.StoragePool{
		StoragePoolPut: api.StoragePoolPut{Config: map[string]string{"source": src.PoolSource}},
		Name:           src.Pool, Driver: src.Driver, UsedBy: []string{}, Status: "Created", Locations: []string{"none"},
	}

	for i := range src.Profiles {
		cfg.Profiles = append(cfg.Profiles, &src.Profiles[i])
	}

	cfg.Volume = &api.StorageVolume{Name: src.Instance.Name, Type: "container", UsedBy: []string{}, Location: "none",
		ContentType: "filesystem", Project: "default"}
	cfg.Volume.Config = map[string]string{}
	for i := range src.Snapshots {
		snap := &src.Snapshots[i]
		cfg.Snapshots = append(cfg.Snapshots, snap)
		vs := &api.StorageVolumeSnapshot{Name: snap.Name, ContentType: "filesystem"}
		vs.Config = map[string]string{}
		vs.ExpiresAt = &snap.ExpiresAt
		cfg.VolumeSnapshots = append(cfg.VolumeSnapshots, vs)
	}

	return cfg
}

// writeTarball writes a backup of src to w, compressed with compression. The files are read and packed in one
// goroutine and compressed in another, so that both use a core of their own.
func writeTarball(w io.Writer, compression string, src *instance.BackupSource) error {
	cw, err := instance.CompressWriter(compression, w)
	if err != nil {
		return err
	}

	pr, pw := io.Pipe()
	packed := make(chan struct{})
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		tw := tar.NewWriter(bw)
		err := packBackup(tw, src)
		if err == nil {
			err = tw.Close()
		}

		if err == nil {
			err = bw.Flush()
		}

		// A packing error reaches the compressing side as the error of its read.
		_ = pw.CloseWithError(err)
		close(packed)
	}()

	_, err = io.Copy(cw, pr)
	// A failed compression ends the packing at its next write.
	_ = pr.CloseWithError(errors.New("backup compression stopped"))
	<-packed
	closeErr := cw.Close()
	if err != nil {
		return err
	}

	return closeErr
}

// packBackup writes the entries of a backup: index.yaml, then each snapshot, then the instance.
func packBackup(tw *tar.Writer, src *instance.BackupSource) error {
	now := time.Now()
	cfg := describe(src)
	no := false
	info := Info{Name: src.Instance.Name, Backend: src.Driver, Pool: src.Pool, Optimized: &no, OptimizedHeader: &no,
		Type: api.InstanceTypeContainer, Config: cfg}
	for _, snap := range src.Snapshots {
		info.Snapshots = append(info.Snapshots, snap.Name)
	}

	err := writeYAML(tw, "backup/index.yaml", 0o644, info, now)
	if err != nil {
		return err
	}

	for _, snap := range src.Snapshots {
		dir := "backup/snapshots/" + snap.Name
		err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o100, ModTime: now})
		if err != nil {
			return err
		}

		snapInst := src.Instance
		snapInst.InstancePut.Config = snap.Config
		snapInst.InstancePut.Devices = snap.Devices
		snapInst.InstancePut.Profiles = snap.Profiles
		snapInst.ExpandedConfig, snapInst.ExpandedDevices = snap.ExpandedConfig, snap.ExpandedDevices
		snapCfg := *cfg
		snapCfg.Container, snapCfg.Snapshots, snapCfg.VolumeSnapshots = &snapInst, nil, nil
		err = writeYAML(tw, dir+"/backup.yaml", 0o400, snapCfg, now)
		if err != nil {
			return err
		}

		err = packMeta(tw, src.SnapshotMeta[snap.Name], dir)
		if err != nil {
			return err
		}

		err = packTree(tw, filepath.Join(src.SnapshotDirs[snap.Name], "rootfs"), dir+"/rootfs")
		if err != nil {
			return fmt.Errorf("packing snapshot %q: %w", snap.Name, err)
		}
	}

	err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "backup/container/", Mode: 0o100, ModTime: now})
	if err != nil {
		return err
	}

	err = writeYAML(tw, "backup/container/backup.yaml", 0o400, cfg, now)
	if err != nil {
		return err
	}

	err = packMeta(tw, src.Dir, "backup/container")
	if err != nil {
		return err
	}

	return packTree(tw, src.Rootfs, "backup/container/rootfs")
}

// writeYAML adds a YAML document as a file.
func writeYAML(tw *tar.Writer, name string, mode int64, v any, mtime time.Time) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}

	err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
		ModTime: mtime})
	if err != nil {
		return err
	}

	_, err = tw.Write(data)
	return err
}

// packMeta adds the metadata.yaml and templates/ of dir, when it has them, under prefix.
func packMeta(tw *tar.Writer, dir string, prefix string) error {
	for _, name := range []string{"metadata.yaml", "templates"} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}

		if err != nil {
			return err
		}

		err = packTree(tw, filepath.Join(dir, name), prefix+"/"+name)
		if err != nil {
			return err
		}
	}

	return nil
}

// packTree adds the tree root under the archive name prefix, owners as they are on disk, with hard links,
// symlinks, devices and extended attributes kept. Sockets are left out, as tar cannot hold them.
func packTree(tw *tar.Writer, root string, prefix string) error {
	links := map[[2]uint64]string{}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}

		name := prefix
		if rel != "." {
			name = prefix + "/" + filepath.ToSlash(rel)
		}

		return packEntry(tw, path, name, links)
	})
}

// packEntry adds one file.
func packEntry(tw *tar.Writer, path string, name string, links map[[2]uint64]string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}

	if info.Mode()&fs.ModeSocket != 0 {
		return nil
	}

	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		link, err = os.Readlink(path)
		if err != nil {
			return err
		}
	}

	hdr, err := images.TarHeader(info, link)
	if err != nil {
		return fmt.Errorf("packing %s: %w", path, err)
	}

	hdr.Name = name
	hdr.Uname, hdr.Gname = "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	st, ok := info.Sys().(*syscall.Stat_t)
	if ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		hdr.Mode = int64(st.Mode & 0o7777)
		if info.Mode().IsRegular() && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			first, seen := links[key]
			if seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				return tw.WriteHeader(hdr)
			}

			links[key] = name
		}
	}

	if info.IsDir() {
		hdr.Name += "/"
	}

	err = addXattrs(hdr, path)
	if err != nil {
		return err
	}

	err = tw.WriteHeader(hdr)
	if err != nil || !info.Mode().IsRegular() {
		return err
	}

	f, err := os.Open(path)
	if err != nil {
		return err
	}

	defer func() { _ = f.Close() }()
	_, err = io.CopyN(tw, f, hdr.Size)
	if err != nil {
		return fmt.Errorf("packing %s: %w", path, err)
	}

	return nil
}

// addXattrs records the extended attributes of a file, without following symlinks, in its header.
func addXattrs(hdr *tar.Header, path string) error {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil
	}

	if err != nil {
		return err
	}

	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return err
	}

	names := strings.Split(string(buf[:size]), "\x00")
	sort.Strings(names)
	for _, name := range names {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}

		n, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return err
		}

		v := make([]byte, n)
		n, err = unix.Lgetxattr(path, name, v)
		if err != nil {
			return err
		}

		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}

		hdr.PAXRecords["SCHILY.xattr."+name] = string(v[:n])
	}

	return nil
}
