package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// OCIConfigName is the file of an OCI image's metadata part holding its image configuration, as the registry
// served it.
const OCIConfigName = "config.json"

// maxOCIConfig bounds the image configuration read from a metadata part.
const maxOCIConfig = 1 << 20

// ReadOCIConfig reads the image configuration of a stored OCI image from its metadata part: the plain tarball a
// registry pull writes, or the compressed unified tarball of a published OCI container, where it comes before the
// root filesystem.
func ReadOCIConfig(metaPath string) ([]byte, error) {
	f, err := os.Open(metaPath)
	if err != nil {
		return nil, err
	}

	defer func() { _ = f.Close() }()
	r, release, err := Decompress(f)
	if err != nil {
		return nil, err
	}

	defer release()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}

		if err != nil {
			return nil, err
		}

		name := strings.TrimPrefix(hdr.Name, "./")
		if name == OCIConfigName && hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, maxOCIConfig))
		}

		if strings.HasPrefix(name, "rootfs/") || name == "rootfs" {
			break
		}
	}

	return nil, fmt.Errorf("no %s in the image metadata", OCIConfigName)
}
