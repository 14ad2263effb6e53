package images

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTarHeaderNumericOwners checks that a header carries the owner's ids and no names, even for an owner the host
// names (the user running the test).
func TestTarHeaderNumericOwners(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	err := os.WriteFile(p, []byte("data"), 0o640)
	if err != nil {
		t.Fatal(err)
	}

	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}

	hdr, err := TarHeader(info, "")
	if err != nil {
		t.Fatal(err)
	}

	if hdr.Uname != "" || hdr.Gname != "" {
		t.Fatalf("names %q:%q, want none", hdr.Uname, hdr.Gname)
	}

	if hdr.Uid != os.Getuid() || hdr.Gid != os.Getgid() || hdr.Size != 4 || hdr.Mode&0o777 != 0o640 {
		t.Fatalf("uid %d gid %d size %d mode %o, want %d %d 4 640", hdr.Uid, hdr.Gid, hdr.Size, hdr.Mode,
			os.Getuid(), os.Getgid())
	}
}
