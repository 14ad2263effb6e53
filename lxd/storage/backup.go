package storage

// CreateSnapshotFrom makes snapshot snap of the container name, on the pool holding the container, from the
// directory src: a copy of its rootfs/ and of the files beside it (the snapshot's metadata and templates). The
// snapshot appears under its name only once complete.
func (ps *Pools) CreateSnapshotFrom(name string, snap string, src string) error {
	return ps.locate(name).copySnapshotFrom(src, name, snap)
}
