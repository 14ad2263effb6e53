package drivers

import (
	"io/fs"
	"path/filepath"
)

// VolumeUsage adds up the sizes of the regular files of the volume.
func (d *dir) VolumeUsage(path string) (int64, error) {
	return treeUsage(path)
}

// treeUsage adds up the sizes of the regular files under path.
func treeUsage(path string) (int64, error) {
	var total int64
	err := filepath.WalkDir(path, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}

		info, err := e.Info()
		if err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}

		return nil
	})

	return total, err
}
