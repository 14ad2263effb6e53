// Package migration moves and copies stopped containers between servers with LXD's migration protocol: a
// websocket operation with a control and an fs websocket, a MigrationHeader offer and answer on the control
// websocket, one rsync session per volume on the fs websocket (snapshots first, oldest first, then the instance)
// and a MigrationControl from the target saying how it ended. The source serves the websockets (pull mode, the
// target connects to them) or connects to the target's (push mode).
package migration

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/lxd/instance"
)

// Websocket names of a migration.
const (
	Control = "control"
	FS      = "fs"
)

// ConnectTimeout bounds how long a migration waits for its websockets.
const ConnectTimeout = 30 * time.Second

// Session holds the websockets of one migration, each identified by a secret.
type Session struct {
	secrets map[string]string

	mu        sync.Mutex
	conns     map[string]*websocket.Conn
	connected chan struct{}
	closed    bool
}

// NewSession returns a session with a new secret for control and fs.
func NewSession() *Session {
	s := &Session{secrets: map[string]string{}, conns: map[string]*websocket.Conn{}, connected: make(chan struct{})}
	for _, name := range []string{Control, FS} {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		s.secrets[name] = hex.EncodeToString(b)
	}

	return s
}

// Secrets returns the secrets by websocket name, as the operation's metadata lists them.
func (s *Session) Secrets() map[string]any {
	out := map[string]any{}
	for k, v := range s.secrets {
		out[k] = v
	}

	return out
}

// Match returns the websocket a secret opens, or "" when it opens none or that websocket is already connected.
func (s *Session) Match(secret string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ""
	}

	for name, v := range s.secrets {
		if subtle.ConstantTimeCompare([]byte(v), []byte(secret)) == 1 && s.conns[name] == nil {
			return name
		}
	}

	return ""
}

// Attach hands the connected websocket name to the session; a websocket the session no longer wants is closed.
func (s *Session) Attach(name string, conn *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.conns[name] != nil {
		_ = conn.Close()
		return
	}

	s.conns[name] = conn
	if s.conns[Control] != nil && s.conns[FS] != nil {
		close(s.connected)
	}
}

// Wait waits for both websockets.
func (s *Session) Wait(ctx context.Context) (*websocket.Conn, *websocket.Conn, error) {
	timer := time.NewTimer(ConnectTimeout)
	defer timer.Stop()
	select {
	case <-s.connected:
	case <-timer.C:
		return nil, nil, errors.New("timed out waiting for the migration websockets to connect")
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[Control], s.conns[FS], nil
}

// Close ends the session and closes its websockets.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.conns {
		closeConn(c)
	}
}

func closeConn(c *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = c.Close()
	dialed.Delete(c)
}

// Source sends an instance.
type Source struct {
	Instances    *instance.Manager
	Name         string
	InstanceOnly bool

	// Snapshot, when set, names the snapshot sent in place of the instance: the target makes an instance of it.
	Snapshot string

	// Progress, when set, receives the progress of the transfer.
	Progress Progress
}

// CheckSource checks that an instance may be sent: it exists; live migration is not supported.
func CheckSource(ctx context.Context, m *instance.Manager, name string, live bool) error {
	err := m.Exists(ctx, name)
	if err != nil {
		return err
	}

	return CheckLive(live)
}

// CheckLive refuses a live migration, which needs CRIU.
func CheckLive(live bool) error {
	if live {
		return errs.Unsupported("live migration is not supported by this server (stop the instance or copy it with --stateless)")
	}

	return nil
}

// Send runs the source's half of a migration on the websockets control and fs.
func (src *Source) Send(ctx context.Context, control *websocket.Conn, fsConn *websocket.Conn) error {
	err := src.send(ctx, control, fsConn)
	if err != nil {
		sendControl(control, err)
	}

	return err
}

func (src *Source) send(ctx context.Context, control *websocket.Conn, fsConn *websocket.Conn) error {
	bs, release, err := src.Instances.BackupSource(ctx, src.Name, src.InstanceOnly && src.Snapshot == "")
	if err != nil {
		return err
	}

	defer release()
	config := bs.Instance.ExpandedConfig
	rootfs, meta := bs.Rootfs, bs.Dir
	if src.Snapshot != "" {
		config, rootfs, meta, err = snapshotVolume(bs, src.Snapshot)
		if err != nil {
			return err
		}

		bs.Snapshots = nil
	}

	offer := &Header{FS: FSRsync, Rsync: &RsyncFeatures{Xattrs: true, Delete: true, Compress: true}}
	for _, e := range src.Instances.MigrationIDMap(config) {
		offer.IDMap = append(offer.IDMap, IDMapEntry{IsUID: e.Isuid, IsGID: e.Isgid, HostID: e.Hostid,
			NsID: e.Nsid, MapRange: e.Maprange})
	}

	for _, snap := range bs.Snapshots {
		offer.SnapshotNames = append(offer.SnapshotNames, snap.Name)
		offer.Snapshots = append(offer.Snapshots, snapshotHeader(snap))
	}

	err = writeMessage(control, offer.Marshal())
	if err != nil {
		return err
	}

	data, err := readMessage(control)
	if err != nil {
		return err
	}

	resp, err := UnmarshalHeader(data)
	if err != nil {
		return err
	}

	if resp.FS != FSRsync {
		return fmt.Errorf("the target asked for file system transfer type %d: only rsync is supported", resp.FS)
	}

	send := offer.SnapshotNames
	if resp.Refresh != nil && *resp.Refresh {
		send = resp.SnapshotNames
	}

	// A failure the target reports while the files travel ends the transfer.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	result := make(chan error, 1)
	go func() {
		err := readControl(control)
		result <- err
		if err != nil {
			cancel(err)
		}
	}()

	for _, name := range send {
		dir, ok := bs.SnapshotDirs[name]
		if !ok {
			return fmt.Errorf("snapshot %q: %w", name, errs.ErrNotFound)
		}

		err = src.sendVolume(ctx, fsConn, src.Name+"/"+name,
			volumeEntries(filepath.Join(dir, "rootfs"), bs.SnapshotMeta[name]), resp.Rsync)
		if err != nil {
			return transferError(ctx, result, err)
		}
	}

	err = src.sendVolume(ctx, fsConn, src.Name, volumeEntries(rootfs, meta), resp.Rsync)
	if err != nil {
		return transferError(ctx, result, err)
	}

	select {
	case err = <-result:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// snapshotVolume returns what a snapshot sent as an instance is made of: the configuration its files' map is read
// from (the instance's, with the snapshot's volatile.last_state.idmap when it has one), its root filesystem and the
// directory of its metadata.
func snapshotVolume(bs *instance.BackupSource, name string) (map[string]string, string, string, error) {
	dir, ok := bs.SnapshotDirs[name]
	if !ok {
		return nil, "", "", fmt.Errorf("snapshot %q: %w", name, errs.ErrNotFound)
	}

	config := maps.Clone(bs.Instance.ExpandedConfig)
	for _, snap := range bs.Snapshots {
		if snap.Name == name && snap.Config[instance.KeyLastIdmap] != "" {
			config[instance.KeyLastIdmap] = snap.Config[instance.KeyLastIdmap]
		}
	}

	return config, filepath.Join(dir, "rootfs"), bs.SnapshotMeta[name], nil
}

// sendVolume sends one volume, reporting its progress.
func (src *Source) sendVolume(ctx context.Context, fsConn *websocket.Conn, name string, entries []string,
	features *RsyncFeatures) error {
	count, stop := track(src.Progress, name)
	defer stop()
	return rsyncSend(ctx, fsConn, entries, features, count)
}

// transferError prefers the target's account of a failed transfer to the local one.
func transferError(ctx context.Context, result chan error, err error) error {
	select {
	case terr := <-result:
		if terr != nil {
			return terr
		}
	case <-time.After(time.Second):
	case <-ctx.Done():
	}

	return err
}

// volumeEntries lists what a volume is sent as: its root filesystem (whose base name is rootfs) and, from the
// directory meta, its metadata.yaml and templates/ when present.
func volumeEntries(rootfs string, meta string) []string {
	out := []string{rootfs}
	if meta == "" {
		return out
	}

	for _, name := range []string{"metadata.yaml", "templates"} {
		p := filepath.Join(meta, name)
		_, err := os.Lstat(p)
		if err == nil {
			out = append(out, p)
		}
	}

	return out
}

func writeMessage(conn *websocket.Conn, data []byte) error {
	return conn.WriteMessage(websocket.BinaryMessage, data)
}

func readMessage(conn *websocket.Conn) ([]byte, error) {
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("reading the control websocket: %w", err)
		}

		if kind == websocket.BinaryMessage {
			return data, nil
		}
	}
}

// readControl waits for the peer's MigrationControl and returns its failure.
func readControl(conn *websocket.Conn) error {
	data, err := readMessage(conn)
	if err != nil {
		return err
	}

	c, err := UnmarshalControl(data)
	if err != nil {
		return err
	}

	if !c.Success {
		return fmt.Errorf("migration failed on the other end: %s", c.Message)
	}

	return nil
}

// sendControl reports a failure to the peer.
func sendControl(conn *websocket.Conn, err error) {
	c := &ControlMessage{Success: err == nil}
	if err != nil {
		c.Message = err.Error()
	}

	_ = writeMessage(conn, c.Marshal())
}

// CloseAll closes the websockets of a migration this server connected to.
func CloseAll(conns ...*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			closeConn(c)
		}
	}
}
