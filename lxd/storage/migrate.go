package storage

// ReplaceRootfs replaces the root filesystem of the container name with a copy of the tree src, on the pool
// holding the container (see Pool.ReplaceRootfs).
func (ps *Pools) ReplaceRootfs(name string, src string) error {
	return ps.locate(name).ReplaceRootfs(name, src)
}
