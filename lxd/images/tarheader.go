package images

import (
	"archive/tar"
	"io/fs"
)

// TarHeader is tar.FileInfoHeader with numeric owners only: the header of the file described by info (from Lstat;
// link is its symlink target), with no user or group name. tar.FileInfoHeader looks both names up and remembers only
// those it finds, so for the files of a container, owned by shifted ids that no user of the host has, it would ask
// the name service twice for every file, which takes longer than reading the file.
func TarHeader(info fs.FileInfo, link string) (*tar.Header, error) {
	return tar.FileInfoHeader(numericOwners{info}, link)
}

// numericOwners is a file's information without owner names (tar.FileInfoNames).
type numericOwners struct{ fs.FileInfo }

func (numericOwners) Uname() (string, error) { return "", nil }
func (numericOwners) Gname() (string, error) { return "", nil }
