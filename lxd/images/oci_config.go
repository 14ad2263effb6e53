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

// ReadOCIConfig reads the image configuration from the metadata part of a stored OCI image (an uncompressed
// tarball, as the registry pull writes it).
func ReadOCIConfig(metaPath string) ([]byte, error) {
	f, err := os.Open(metaPath)
	if err != nil {
		return nil, err
	}

	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no %s in the image metadata", OCIConfigName)
		}

		if err != nil {
			return nil, err
		}

		if strings.TrimPrefix(hdr.Name, "./") == OCIConfigName && hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, maxOCIConfig))
		}
	}
}
