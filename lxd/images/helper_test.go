package images

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestHelperMatchesGo checks that the external decompressors and the Go ones agree: same bytes out of a good stream,
// and an error out of a truncated or corrupt one.
func TestHelperMatchesGo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: helper decompressors run as nobody, which needs root")
	}

	plain := makeTar(t, unifiedEntries(goodMetadata))
	for compression := range helperPrograms {
		_, ok := helperPaths()[compression]
		if !ok {
			t.Logf("SKIPPED: no helper program for %s on this machine", compression)
			continue
		}

		data := compressAs(t, compression, plain)
		t.Run(compression, func(t *testing.T) {
			for _, tt := range []struct {
				name  string
				input []byte
				good  bool
			}{
				{"good", data, true},
				{"truncated", data[:len(data)*6/10], false},
				{"corrupt", flipMiddle(data), false},
			} {
				helperOut, helperErr := readAllWith(t, helperDecompressor, compression, tt.input)
				goOut, goErr := readAllWith(t, goDecompressor, compression, tt.input)
				if tt.good {
					if helperErr != nil || goErr != nil {
						t.Fatalf("%s: got errors %v (helper), %v (go)", tt.name, helperErr, goErr)
					}

					if !bytes.Equal(helperOut, plain) || !bytes.Equal(goOut, plain) {
						t.Fatalf("%s: the decompressed bytes differ", tt.name)
					}

					continue
				}

				if helperErr == nil || goErr == nil {
					t.Fatalf("%s: got errors %v (helper), %v (go), want both to fail", tt.name, helperErr, goErr)
				}
			}
		})
	}
}

func readAllWith(t *testing.T, open func(string, io.Reader) (io.Reader, func(), error), compression string, input []byte) ([]byte, error) {
	t.Helper()
	r, release, err := open(compression, bytes.NewReader(input))
	if err != nil {
		return nil, err
	}

	if r == nil {
		t.Fatalf("no decompressor for %s", compression)
	}

	defer release()
	return io.ReadAll(r)
}
