package rest

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lxd-go/lxd/shared/api"
)

func TestValidLogName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"lxc.log", true},
		{"lxc.conf", true},
		{"exec_3dc0490b-6f32-470a-909c-e259b11b83c2.stdout", true},
		{"snapshot_snap0.log", true},
		{"migration_dump.log", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../lxd.log", false},
		{"exec_../../etc/passwd", false},
		{"exec_a/b", false},
		{"/lxc.log", false},
		{"exec_", false},
		{"console.log", false},
		{"lxc.log\x00", false},
		{"lxd.log", false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := validLogName(tt.name)
			if got != tt.want {
				t.Errorf("validLogName(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestOpenLog(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	err := os.WriteFile(outside, []byte("secret\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	err = os.WriteFile(filepath.Join(dir, "lxc.log"), []byte("log\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	err = os.Symlink(outside, filepath.Join(dir, "exec_link.stdout"))
	if err != nil {
		t.Fatal(err)
	}

	err = unix.Mkfifo(filepath.Join(dir, "exec_fifo.stdout"), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	err = os.Mkdir(filepath.Join(dir, "exec_dir.stdout"), 0o700)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		file    string
		want    string
		wantErr int
	}{
		{file: "lxc.log", want: "log\n"},
		{file: "exec_link.stdout", wantErr: 400},
		{file: "exec_fifo.stdout", wantErr: 400},
		{file: "exec_dir.stdout", wantErr: 400},
		{file: "exec_missing.stdout", wantErr: 404},
	}

	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, _, err := openLog(dir, tt.file)
			if tt.wantErr != 0 {
				if !api.StatusErrorCheck(err, tt.wantErr) {
					t.Fatalf("openLog(%q) = %v, want status %d", tt.file, err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			defer func() { _ = f.Close() }()
			got, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}

			if string(got) != tt.want {
				t.Errorf("content %q, want %q", got, tt.want)
			}
		})
	}
}
