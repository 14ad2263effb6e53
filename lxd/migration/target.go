package migration

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/fsutil"
	"github.com/lxd-go/lxd/shared/version"
)

// PullArgs name the source's operation and websockets a target connects to in pull mode.
type PullArgs struct {
	// Operation is the URL of the source's migration operation.
	Operation string

	// Certificate is the source's PEM certificate; ClientCert and ClientKey are this server's, presented to it.
	Certificate string
	ClientCert  string
	ClientKey   string

	// Secrets of the control and fs websockets.
	Secrets map[string]string
}

// CheckPull validates a pull before anything starts.
func CheckPull(args PullArgs) error {
	u, err := url.Parse(args.Operation)
	if err != nil || u.Scheme != "https" || u.Host == "" ||
		!strings.HasPrefix(u.Path, "/1.0/operations/") {
		return errs.Invalid("invalid migration source operation %q", args.Operation)
	}

	for _, name := range []string{Control, FS} {
		if args.Secrets[name] == "" {
			return errs.Invalid("the migration source has no %s secret", name)
		}
	}

	return nil
}

// Dial connects to the source's control and fs websockets.
func Dial(ctx context.Context, args PullArgs) (*websocket.Conn, *websocket.Conn, error) {
	u, err := url.Parse(args.Operation)
	if err != nil {
		return nil, nil, err
	}

	id := path.Base(u.Path)
	base := u.Scheme + "://" + u.Host
	server, err := client.ConnectLXD(base, &client.ConnectionArgs{TLSServerCert: args.Certificate,
		TLSClientCert: args.ClientCert, TLSClientKey: args.ClientKey, UserAgent: version.UserAgent(),
		SkipGetServer: true})
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the migration source: %w", err)
	}

	conns := map[string]*websocket.Conn{}
	for _, name := range []string{Control, FS} {
		conn, err := server.GetOperationWebsocket(id, args.Secrets[name])
		if err != nil {
			for _, c := range conns {
				closeConn(c)
			}

			return nil, nil, fmt.Errorf("connecting to the %s websocket of the migration source: %w", name, err)
		}

		conns[name] = conn
	}

	dialed.Store(conns[FS], true)
	return conns[Control], conns[FS], nil
}

// dialed holds the fs websockets Dial opened, until their transfer ends: their peer is the source itself, where
// the peer of an accepted one (push mode) may be a client relaying the stream of another server.
var dialed sync.Map

// Target receives an instance.
type Target struct {
	Instances *instance.Manager

	// TmpDir is where the files are received before the instance is made from them.
	TmpDir string

	// Instance is the new instance: its name, configuration, devices, profiles and architecture.
	Instance api.Instance

	// Refresh brings the existing instance of that name up to date instead: only the snapshots it lacks travel,
	// and of the instance's files only those that changed.
	Refresh bool

	// Progress, when set, receives the progress of the transfer.
	Progress Progress
}

// Check validates the new instance before anything starts; a root disk naming a pool this server does not have is
// moved to one it has.
func (t *Target) Check(ctx context.Context) error {
	if t.Refresh {
		if t.Instances.Status(t.Instance.Name) != api.Stopped {
			return errs.Invalid("the instance %q is running, stop it before refreshing it", t.Instance.Name)
		}

		return nil
	}

	err := t.Instances.ReceivePool(ctx, &t.Instance)
	if err != nil {
		return err
	}

	return t.Instances.ValidateReceive(ctx, t.Instance)
}

// Receive runs the target's half of a migration on the websockets control and fs; on failure nothing is left.
func (t *Target) Receive(ctx context.Context, control *websocket.Conn, fsConn *websocket.Conn) error {
	defer dialed.Delete(fsConn)
	err := t.receive(ctx, control, fsConn)
	sendControl(control, err)
	return err
}

func (t *Target) receive(ctx context.Context, control *websocket.Conn, fsConn *websocket.Conn) error {
	data, err := readMessage(control)
	if err != nil {
		return err
	}

	offer, err := UnmarshalHeader(data)
	if err != nil {
		return err
	}

	features := &RsyncFeatures{}
	if offer.Rsync != nil {
		features.Xattrs = offer.Rsync.Xattrs
		features.Delete = offer.Rsync.Delete
		// Compression saves nothing when the source is on this host (pulled from a loopback address), and costs
		// both ends the CPU time that bounds the transfer there. An LXD source follows the answer's features only
		// when they include bidirectional (otherwise it assumes xattrs, delete and compress): the answer repeats
		// the offer's.
		features.Bidirectional = offer.Rsync.Bidirectional
		features.Compress = offer.Rsync.Compress && !localSource(fsConn)
	}

	// Whatever the source offers (an optimized btrfs or zfs stream), the answer asks for rsync, which LXD falls
	// back to.
	resp := &Header{FS: FSRsync, Rsync: features, SnapshotNames: offer.SnapshotNames, Snapshots: offer.Snapshots}
	if t.Refresh {
		resp.SnapshotNames, resp.Snapshots, err = t.missingSnapshots(ctx, offer.Snapshots)
		if err != nil {
			return err
		}

		refresh := true
		resp.Refresh = &refresh
	}

	err = writeMessage(control, resp.Marshal())
	if err != nil {
		return err
	}

	// A failure the source reports while the files travel ends the transfer.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		err := readControl(control)
		if err != nil {
			cancel(err)
		}
	}()

	err = os.MkdirAll(t.TmpDir, 0o700)
	if err != nil {
		return err
	}

	// Whole instances are received here (fsutil.MarkTreeTop).
	_ = fsutil.MarkTreeTop(t.TmpDir)
	removeStale(t.TmpDir)
	stage, err := os.MkdirTemp(t.TmpDir, stagePrefix)
	if err != nil {
		return err
	}

	defer func() { _ = os.RemoveAll(stage) }()
	unlock, err := lockStage(stage, true)
	if err != nil {
		return err
	}

	defer unlock()
	for _, snap := range resp.Snapshots {
		err = instance.ValidSnapshotName(snap.Name)
		if err != nil {
			return err
		}

		err = t.recv(ctx, fsConn, t.Instance.Name+"/"+snap.Name, filepath.Join(stage, "snapshots", snap.Name),
			features)
		if err != nil {
			return err
		}
	}

	if t.Refresh && features.Delete {
		// The files the instance has are the base the source's are compared with: only what changed travels.
		err = os.MkdirAll(filepath.Join(stage, "container"), 0o700)
		if err != nil {
			return err
		}

		err = t.Instances.SeedRefresh(ctx, t.Instance.Name, offerIDMap(offer),
			filepath.Join(stage, "container", "rootfs"))
		if err != nil {
			return err
		}
	}

	err = t.recv(ctx, fsConn, t.Instance.Name, filepath.Join(stage, "container"), features)
	if err != nil {
		return err
	}

	if t.Refresh {
		return t.refresh(ctx, stage, offer, resp.Snapshots)
	}

	return t.restore(ctx, stage, offer)
}

// missingSnapshots returns the snapshots of the offer the existing instance lacks.
func (t *Target) missingSnapshots(ctx context.Context, offered []Snapshot) ([]string, []Snapshot, error) {
	have, err := t.Instances.Snapshots(ctx, t.Instance.Name)
	if err != nil {
		return nil, nil, err
	}

	known := map[string]bool{}
	for _, s := range have {
		known[s.Name] = true
	}

	names := []string{}
	snaps := []Snapshot{}
	for _, s := range offered {
		if !known[s.Name] {
			names = append(names, s.Name)
			snaps = append(snaps, s)
		}
	}

	return names, snaps, nil
}

// localSource tells whether the fs websocket conn was dialed to a source on a loopback address of this host.
func localSource(conn *websocket.Conn) bool {
	_, ok := dialed.Load(conn)
	if !ok {
		return false
	}

	addr, ok := conn.RemoteAddr().(*net.TCPAddr)
	return ok && addr.IP.IsLoopback()
}

// offerIDMap returns the map the source's files are owned with on its disk (nil when unshifted).
func offerIDMap(offer *Header) []instance.IDMapEntry {
	var from []instance.IDMapEntry
	for _, e := range offer.IDMap {
		from = append(from, instance.IDMapEntry{Isuid: e.IsUID, Isgid: e.IsGID, Hostid: e.HostID, Nsid: e.NsID,
			Maprange: e.MapRange})
	}

	return from
}

// refresh brings the existing instance up to date with the received files.
func (t *Target) refresh(ctx context.Context, stage string, offer *Header, sent []Snapshot) error {
	args := instance.RefreshArgs{Name: t.Instance.Name, Dir: stage, From: offerIDMap(offer)}

	for _, s := range offer.Snapshots {
		args.Keep = append(args.Keep, s.Name)
	}

	for _, s := range sent {
		args.Snapshots = append(args.Snapshots, snapshotAPI(s, t.Instance.Architecture))
	}

	return t.Instances.RefreshReceived(ctx, args)
}

// recv receives one volume into dir.
func (t *Target) recv(ctx context.Context, fsConn *websocket.Conn, name string, dir string,
	features *RsyncFeatures) error {
	err := os.MkdirAll(dir, 0o700)
	if err != nil {
		return err
	}

	count, stop := track(t.Progress, name)
	err = rsyncRecv(ctx, fsConn, dir, features, count)
	stop()
	if err != nil {
		if context.Cause(ctx) != nil {
			return context.Cause(ctx)
		}

		return err
	}

	_, err = os.Lstat(filepath.Join(dir, "rootfs"))
	if err != nil {
		return fmt.Errorf("the migration source sent no root filesystem: %w", errs.ErrInvalid)
	}

	return nil
}

// restore makes the instance and its snapshots from the received files, shifted to this server's map.
func (t *Target) restore(ctx context.Context, stage string, offer *Header) error {
	from := offerIDMap(offer)
	inst := t.Instance
	inst.Config = maps.Clone(inst.Config)
	if inst.Config == nil {
		inst.Config = map[string]string{}
	}

	last, err := t.Instances.ShiftReceived(ctx, filepath.Join(stage, "container", "rootfs"), from, inst.Config,
		inst.Profiles)
	if err != nil {
		return err
	}

	inst.Config[instance.KeyLastIdmap] = last

	// The image's templates for copies render at the first start, as for a copy on one server.
	inst.Config[instance.KeyApplyTemplate] = "copy"
	snaps := make([]api.InstanceSnapshot, 0, len(offer.Snapshots))
	for _, s := range offer.Snapshots {
		snap := snapshotAPI(s, inst.Architecture)
		snap.Config = maps.Clone(snap.Config)
		if snap.Config == nil {
			snap.Config = map[string]string{}
		}

		snapLast, err := t.Instances.ShiftReceived(ctx, filepath.Join(stage, "snapshots", s.Name, "rootfs"), from,
			inst.Config, inst.Profiles)
		if err != nil {
			return err
		}

		snap.Config[instance.KeyLastIdmap] = snapLast
		snaps = append(snaps, snap)
	}

	return t.Instances.RestoreBackup(ctx, instance.RestoreArgs{Name: inst.Name, Instance: inst, Snapshots: snaps,
		Dir: stage})
}

// stagePrefix names the staging directories of the migrations being received.
const stagePrefix = "migration-"

// staleAge is how old an unlocked staging directory must be to be removed: one a migration has just made is not
// locked yet.
const staleAge = time.Minute

// lockStage takes the lock a migration holds on its staging directory while it receives (wait) or tries to take it.
func lockStage(dir string, wait bool) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}

	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}

	err = unix.Flock(int(f.Fd()), how)
	if err != nil {
		_ = f.Close()
		return nil, err
	}

	return func() { _ = f.Close() }, nil
}

// removeStale removes the staging directories that no migration holds: those of a daemon that died receiving.
func removeStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}

	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), stagePrefix) {
			continue
		}

		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleAge {
			continue
		}

		dir := filepath.Join(parent, e.Name())
		unlock, err := lockStage(dir, false)
		if err != nil {
			continue
		}

		_ = os.RemoveAll(dir)
		unlock()
	}
}
