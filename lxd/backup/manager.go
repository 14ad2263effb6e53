package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/locking"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
)

// Compressions are the algorithms a backup may be compressed with.
var Compressions = []string{"none", "gzip", "bzip2", "xz", "zstd"}

// ManagerArgs are what a Manager works with.
type ManagerArgs struct {
	// Dir is the daemon's backups directory ($LXD_DIR/backups).
	Dir string

	// Instances reads and recreates instances.
	Instances *instance.Manager

	// Compression returns the server's default algorithm (backups.compression_algorithm); nil is gzip.
	Compression func() string
}

// Manager creates, lists, renames, deletes, prunes and imports instance backups.
type Manager struct {
	dir         string
	instances   *instance.Manager
	compression func() string

	// locks serialises the changes to the backups of one instance.
	locks locking.Keyed
}

// NewManager returns a manager over args.
func NewManager(args ManagerArgs) *Manager {
	if args.Compression == nil {
		args.Compression = func() string { return "gzip" }
	}

	return &Manager{dir: args.Dir, instances: args.Instances, compression: args.Compression}
}

// record is what is kept of a backup beside its tarball.
type record struct {
	Name             string    `json:"name"`
	CreatedAt        time.Time `json:"created_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	InstanceOnly     bool      `json:"instance_only"`
	OptimizedStorage bool      `json:"optimized_storage"`
	Compression      string    `json:"compression_algorithm"`
}

func (r *record) toAPI() api.InstanceBackup {
	return api.InstanceBackup{Name: r.Name, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		InstanceOnly: r.InstanceOnly, ContainerOnly: r.InstanceOnly, OptimizedStorage: r.OptimizedStorage}
}

// instanceDir is the directory of an instance's backups.
func (m *Manager) instanceDir(inst string) string {
	return filepath.Join(m.dir, "instances", inst)
}

// tarballPath is the file of a backup, as LXD keeps it.
func (m *Manager) tarballPath(inst string, name string) string {
	return filepath.Join(m.instanceDir(inst), name)
}

// recordPath is the description kept beside a backup.
func (m *Manager) recordPath(inst string, name string) string {
	return filepath.Join(m.instanceDir(inst), "."+name+".json")
}

// Init makes the backups directory and removes what a crash left: partial tarballs and imports.
func (m *Manager) Init() error {
	err := os.MkdirAll(filepath.Join(m.dir, "instances"), 0o700)
	if err != nil {
		return err
	}

	_ = os.Chmod(m.dir, 0o700)
	// Imports unpack whole instances here (fsutil.MarkTreeTop).
	_ = fsutil.MarkTreeTop(m.dir)
	entries, _ := os.ReadDir(m.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), importPrefix) {
			_ = os.RemoveAll(filepath.Join(m.dir, e.Name()))
		}
	}

	insts, _ := os.ReadDir(filepath.Join(m.dir, "instances"))
	for _, inst := range insts {
		files, _ := os.ReadDir(m.instanceDir(inst.Name()))
		for _, f := range files {
			if strings.HasPrefix(f.Name(), ".") && strings.Contains(f.Name(), ".tmp-") {
				_ = os.Remove(filepath.Join(m.instanceDir(inst.Name()), f.Name()))
			}
		}
	}

	return nil
}

// ValidName checks a backup name.
func ValidName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") || len(name) > 255 {
		return errs.Invalid("invalid backup name %q", name)
	}

	return nil
}

// CreateArgs describe a new backup.
type CreateArgs struct {
	// Instance is the instance to back up; Name the backup's name (empty picks backupN).
	Instance string
	Name     string

	// ExpiresAt is when the backup is deleted; the zero time never.
	ExpiresAt time.Time

	// InstanceOnly leaves the snapshots out.
	InstanceOnly bool

	// OptimizedStorage asks for the storage driver's own format, which this server does not make.
	OptimizedStorage bool

	// Compression is the algorithm; empty is the server's default.
	Compression string
}

// Prepare checks a creation request before any work starts, and picks its name and compression.
func (m *Manager) Prepare(ctx context.Context, args *CreateArgs) error {
	err := m.instances.Exists(ctx, args.Instance)
	if err != nil {
		return err
	}

	if args.OptimizedStorage {
		return errs.Invalid("optimized storage backups are not supported by this server: export without --optimized-storage")
	}

	if args.Compression == "" {
		args.Compression = m.compression()
	}

	if !validCompression(args.Compression) {
		return errs.Invalid("unsupported compression algorithm %q (supported: %s)", args.Compression,
			strings.Join(Compressions, ", "))
	}

	if args.Name == "" {
		args.Name, err = m.nextName(args.Instance)
		if err != nil {
			return err
		}
	}

	err = ValidName(args.Name)
	if err != nil {
		return err
	}

	_, err = os.Lstat(m.recordPath(args.Instance, args.Name))
	if err == nil {
		return errs.Conflict("backup %q of instance %q already exists", args.Name, args.Instance)
	}

	return nil
}

func validCompression(c string) bool {
	for _, ok := range Compressions {
		if c == ok {
			return true
		}
	}

	return false
}

// nextName returns the first backupN name an instance's backups do not use.
func (m *Manager) nextName(inst string) (string, error) {
	list, err := m.List(context.Background(), inst)
	if err != nil {
		return "", err
	}

	used := map[string]bool{}
	for _, b := range list {
		used[b.Name] = true
	}

	for i := 0; ; i++ {
		name := fmt.Sprintf("backup%d", i)
		if !used[name] {
			return name, nil
		}
	}
}

// Create makes a backup of an instance (stopped or running) as Prepare checked it: the tarball is written whole
// beside its final name, then renamed into place, then described.
func (m *Manager) Create(ctx context.Context, args CreateArgs) error {
	err := m.Prepare(ctx, &args)
	if err != nil {
		return err
	}

	unlock := m.locks.Lock(args.Instance)
	defer unlock()

	src, release, err := m.instances.BackupSource(ctx, args.Instance, args.InstanceOnly)
	if err != nil {
		return err
	}

	defer release()
	err = os.MkdirAll(m.instanceDir(args.Instance), 0o700)
	if err != nil {
		return err
	}

	path := m.tarballPath(args.Instance, args.Name)
	err = fsutil.WriteAtomic(path, 0o600, func(w io.Writer) error {
		return writeTarball(w, args.Compression, src)
	})
	if err != nil {
		return fmt.Errorf("creating backup %q of instance %q: %w", args.Name, args.Instance, err)
	}

	rec := record{Name: args.Name, CreatedAt: time.Now().UTC(), ExpiresAt: args.ExpiresAt.UTC(),
		InstanceOnly: args.InstanceOnly, Compression: args.Compression}
	err = m.writeRecord(args.Instance, &rec)
	if err != nil {
		_ = os.Remove(path)
		return err
	}

	return nil
}

func (m *Manager) writeRecord(inst string, rec *record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}

	return fsutil.WriteFileAtomic(m.recordPath(inst, rec.Name), data, 0o600)
}

// List returns the backups of an instance, oldest first.
func (m *Manager) List(ctx context.Context, inst string) ([]api.InstanceBackup, error) {
	err := m.instances.Exists(ctx, inst)
	if err != nil {
		return nil, err
	}

	return m.ListOf(inst)
}

// ListOf returns the backups of an instance the caller knows to exist (one of a list of instances it has just
// read), oldest first, without asking the database again.
func (m *Manager) ListOf(inst string) ([]api.InstanceBackup, error) {
	recs, err := m.records(inst)
	if err != nil {
		return nil, err
	}

	out := make([]api.InstanceBackup, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.toAPI())
	}

	return out, nil
}

// records reads the descriptions of an instance's complete backups, oldest first.
func (m *Manager) records(inst string) ([]*record, error) {
	files, err := os.ReadDir(m.instanceDir(inst))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}

	if err != nil {
		return nil, err
	}

	var out []*record
	for _, f := range files {
		name, ok := strings.CutSuffix(strings.TrimPrefix(f.Name(), "."), ".json")
		if !ok || !strings.HasPrefix(f.Name(), ".") || strings.Contains(f.Name(), ".tmp-") {
			continue
		}

		rec, err := m.readRecord(inst, name)
		if err != nil {
			slog.Warn("unreadable backup description", "instance", inst, "backup", name, "err", err)
			continue
		}

		out = append(out, rec)
	}

	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (m *Manager) readRecord(inst string, name string) (*record, error) {
	data, err := os.ReadFile(m.recordPath(inst, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.NotFound("backup %q of instance %q not found", name, inst)
	}

	if err != nil {
		return nil, err
	}

	rec := &record{}
	err = json.Unmarshal(data, rec)
	if err != nil {
		return nil, err
	}

	rec.Name = name
	return rec, nil
}

// Get returns one backup of an instance.
func (m *Manager) Get(ctx context.Context, inst string, name string) (*api.InstanceBackup, error) {
	err := m.instances.Exists(ctx, inst)
	if err != nil {
		return nil, err
	}

	err = ValidName(name)
	if err != nil {
		return nil, errs.NotFound("backup %q of instance %q not found", name, inst)
	}

	rec, err := m.readRecord(inst, name)
	if err != nil {
		return nil, err
	}

	out := rec.toAPI()
	return &out, nil
}

// Path returns the tarball of a backup.
func (m *Manager) Path(ctx context.Context, inst string, name string) (string, error) {
	_, err := m.Get(ctx, inst, name)
	if err != nil {
		return "", err
	}

	return m.tarballPath(inst, name), nil
}

// Rename renames a backup.
func (m *Manager) Rename(ctx context.Context, inst string, name string, newName string) error {
	_, err := m.Get(ctx, inst, name)
	if err != nil {
		return err
	}

	err = ValidName(newName)
	if err != nil {
		return err
	}

	unlock := m.locks.Lock(inst)
	defer unlock()
	rec, err := m.readRecord(inst, name)
	if err != nil {
		return err
	}

	_, err = os.Lstat(m.recordPath(inst, newName))
	if err == nil {
		return errs.Conflict("backup %q of instance %q already exists", newName, inst)
	}

	err = os.Rename(m.tarballPath(inst, name), m.tarballPath(inst, newName))
	if err != nil {
		return err
	}

	rec.Name = newName
	err = m.writeRecord(inst, rec)
	if err != nil {
		_ = os.Rename(m.tarballPath(inst, newName), m.tarballPath(inst, name))
		return err
	}

	return os.Remove(m.recordPath(inst, name))
}

// Delete removes a backup: its description first, so that a crash leaves a stray file rather than a backup
// without one.
func (m *Manager) Delete(ctx context.Context, inst string, name string) error {
	_, err := m.Get(ctx, inst, name)
	if err != nil {
		return err
	}

	unlock := m.locks.Lock(inst)
	defer unlock()
	return m.remove(inst, name)
}

func (m *Manager) remove(inst string, name string) error {
	err := os.Remove(m.recordPath(inst, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	err = os.Remove(m.tarballPath(inst, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	return nil
}

// DeleteInstance removes every backup of an instance that is gone.
func (m *Manager) DeleteInstance(inst string) error {
	unlock := m.locks.Lock(inst)
	defer unlock()
	return os.RemoveAll(m.instanceDir(inst))
}

// RenameInstance moves the backups of an instance renamed to newName.
func (m *Manager) RenameInstance(inst string, newName string) error {
	unlock := m.locks.Lock(inst)
	defer unlock()
	err := os.Rename(m.instanceDir(inst), m.instanceDir(newName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}

	return err
}

// Prune deletes the backups expired at now, and those of instances that no longer exist. It returns the backups
// deleted as instance/backup.
func (m *Manager) Prune(ctx context.Context, now time.Time) ([]string, error) {
	insts, err := os.ReadDir(filepath.Join(m.dir, "instances"))
	if err != nil {
		return nil, err
	}

	var deleted []string
	for _, d := range insts {
		inst := d.Name()
		err := m.instances.Exists(ctx, inst)
		if errors.Is(err, errs.ErrNotFound) {
			_ = m.DeleteInstance(inst)
			continue
		}

		recs, err := m.records(inst)
		if err != nil {
			return deleted, err
		}

		for _, rec := range recs {
			if rec.ExpiresAt.IsZero() || rec.ExpiresAt.After(now) {
				continue
			}

			unlock := m.locks.Lock(inst)
			err = m.remove(inst, rec.Name)
			unlock()
			if err != nil {
				return deleted, err
			}

			deleted = append(deleted, inst+"/"+rec.Name)
		}
	}

	return deleted, nil
}
