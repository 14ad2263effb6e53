package instance

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestOCIConfig(t *testing.T) {
	raw := []byte(`{"architecture":"amd64","config":{"User":"1000:100","Env":["PATH=/usr/bin:/bin","EMPTY=","A=b=c"],
		"Entrypoint":["/bin/sh","-c"],"Cmd":["echo 'hi there'; sleep 1"],"WorkingDir":"/srv/app","StopSignal":"SIGQUIT"}}`)
	got, err := OCIConfig(raw)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		KeyOCIEntrypoint:    `/bin/sh -c 'echo '"'"'hi there'"'"'; sleep 1'`,
		KeyOCICwd:           "/srv/app",
		KeyOCIUID:           "1000",
		KeyOCIGID:           "100",
		KeyOCIStopSignal:    "SIGQUIT",
		"environment.PATH":  "/usr/bin:/bin",
		"environment.EMPTY": "",
		"environment.A":     "b=c",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	args, err := ShellSplit(got[KeyOCIEntrypoint])
	if err != nil || !slices.Equal(args, []string{"/bin/sh", "-c", "echo 'hi there'; sleep 1"}) {
		t.Fatalf("split: %q %v", args, err)
	}

	got, err = OCIConfig([]byte(`{"config":{"User":"nobody","Cmd":["/app"]}}`))
	if err != nil {
		t.Fatal(err)
	}

	if got[KeyOCICwd] != "/" || got[KeyOCIUID] != "" || got[KeyOCIStopSignal] != "SIGTERM" || got[KeyOCIEntrypoint] != "/app" {
		t.Fatalf("defaults: %v", got)
	}

	_, err = OCIConfig([]byte(`{`))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
}

func TestShellSplit(t *testing.T) {
	cases := map[string][]string{
		`a b  c`:               {"a", "b", "c"},
		`'a b' "c \"d\"" e\ f`: {"a b", `c "d"`, "e f"},
		`x''y ""`:              {"xy", ""},
		``:                     nil,
	}

	for in, want := range cases {
		got, err := ShellSplit(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: got %q %v, want %q", in, got, err, want)
		}
	}

	for _, bad := range []string{`'open`, `"open`} {
		_, err := ShellSplit(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

	for _, args := range [][]string{{"a", "b c", "", "it's", `"q"`, "$HOME", "x\ty"}} {
		got, err := ShellSplit(ShellJoin(args))
		if err != nil || !slices.Equal(got, args) {
			t.Errorf("round trip of %q: %q %v", args, got, err)
		}
	}
}

func TestOCIConfigKeysValidate(t *testing.T) {
	err := ValidateConfig(map[string]string{KeyOCIEntrypoint: "/bin/app -x", KeyOCICwd: "/srv", KeyOCIUID: "10", KeyOCIGID: "20"}, false, false)
	if err != nil {
		t.Fatal(err)
	}

	for k, v := range map[string]string{KeyOCICwd: "relative", KeyOCIUID: "-1", KeyOCIGID: "root"} {
		err = ValidateConfig(map[string]string{k: v}, false, false)
		if err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

func TestWriteOCIFiles(t *testing.T) {
	rootfs := t.TempDir()
	outside := filepath.Join(t.TempDir(), "target")
	err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	err = os.Symlink(outside, filepath.Join(rootfs, "etc", "hosts"))
	if err != nil {
		t.Fatal(err)
	}

	err = writeOCIFiles(rootfs, "c1", os.Getuid(), os.Getgid())
	if err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(filepath.Join(rootfs, "etc", "hostname"))
	if err != nil || string(data) != "c1\n" {
		t.Fatalf("hostname: %q %v", data, err)
	}

	fi, err := os.Lstat(filepath.Join(rootfs, "etc", "hosts"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("hosts: %v %v", fi, err)
	}

	_, err = os.Stat(outside)
	if err == nil {
		t.Fatal("written through the image's symlink")
	}
}

func TestResolveOCIUser(t *testing.T) {
	rootfs := t.TempDir()
	err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	if err != nil {
		t.Fatal(err)
	}

	_ = os.WriteFile(filepath.Join(rootfs, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/srv:/bin/sh\n"), 0o644)
	_ = os.WriteFile(filepath.Join(rootfs, "etc", "group"), []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	cases := map[string][2]string{"app": {"1000", "1001"}, "app:staff": {"1000", "50"}, "7:staff": {"7", "50"}, "app:9": {"1000", "9"}}
	for spec, want := range cases {
		uid, gid, err := resolveOCIUser(rootfs, spec)
		if err != nil || uid != want[0] || gid != want[1] {
			t.Errorf("%s: got %s:%s %v, want %s:%s", spec, uid, gid, err, want[0], want[1])
		}
	}

	for _, bad := range []string{"nobody", "app:nogroup"} {
		_, _, err := resolveOCIUser(rootfs, bad)
		if err == nil {
			t.Errorf("%s resolved", bad)
		}
	}

	// The files are read inside the root filesystem: a symlink out of it is not followed.
	_ = os.Remove(filepath.Join(rootfs, "etc", "passwd"))
	_ = os.Symlink("/etc/passwd", filepath.Join(rootfs, "etc", "passwd"))
	_, _, err = resolveOCIUser(rootfs, "root")
	if err == nil {
		t.Error("read through a symlink out of the root filesystem")
	}
}

// TestOCIPublishConfig checks that the configuration of a published application container gives its containers the
// keys it had.
func TestOCIPublishConfig(t *testing.T) {
	config := map[string]string{
		KeyOCIEntrypoint:    `/bin/sh -c 'echo "a b"; sleep 1'`,
		KeyOCICwd:           "/srv",
		KeyOCIUID:           "1000",
		KeyOCIGID:           "100",
		KeyOCIStopSignal:    "SIGUSR1",
		"environment.PATH":  "/bin",
		"environment.GREET": "hello world",
		"limits.cpu":        "1",
	}

	raw, err := ociPublishConfig(config)
	if err != nil {
		t.Fatal(err)
	}

	got, err := OCIConfig(raw)
	if err != nil {
		t.Fatal(err)
	}

	for k, want := range config {
		if k != "limits.cpu" && got[k] != want {
			t.Errorf("%s: got %q, want %q (config %s)", k, got[k], want, raw)
		}
	}

	if _, ok := got["limits.cpu"]; ok {
		t.Errorf("a key other than the OCI ones was kept: %s", raw)
	}

	_, err = ociPublishConfig(map[string]string{KeyOCIEntrypoint: `'unterminated`})
	if err == nil {
		t.Fatal("an invalid oci.entrypoint was published")
	}
}
