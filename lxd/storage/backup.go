package storage

// CreateSnapshotFrom makes snapshot snap of the container name, on the pool holding the container, from the
// staging directory src, which its caller discards: its rootfs/ (moved into place where the pool allows it, else
// copied) and a copy of the files beside it (the snapshot's metadata and templates). The snapshot appears under its
// name only once complete.
func (ps *Pools) CreateSnapshotFrom(name string, snap string, src string) error {
	return ps.locate(name).placeSnapshotFrom(src, name, snap, true)
}
