package instance

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/images"
)

// Application containers: an instance created from an OCI image (image property type=oci) runs the image's
// entrypoint and command rather than an init system. Its configuration, taken from the image at creation as Incus
// does, is in these keys; values the user gives at creation win.
const (
	// KeyOCIEntrypoint is the command line run (entrypoint then command, shell-quoted).
	KeyOCIEntrypoint = "oci.entrypoint"

	// KeyOCICwd is its working directory.
	KeyOCICwd = "oci.cwd"

	// KeyOCIUID and KeyOCIGID are the user and group it runs as.
	KeyOCIUID = "oci.uid"
	KeyOCIGID = "oci.gid"

	// KeyOCIStopSignal is the signal "lxc stop" sends it (the image's StopSignal; SIGTERM when it has none).
	KeyOCIStopSignal = "volatile.oci.stop_signal"
)

func init() {
	configKeys[KeyOCIEntrypoint] = checkAny
	configKeys[KeyOCICwd] = checkAbsPath
	configKeys[KeyOCIUID] = optional(checkID)
	configKeys[KeyOCIGID] = optional(checkID)
}

func checkAbsPath(v string) error {
	if v != "" && !path.IsAbs(v) {
		return fmt.Errorf("%q is not an absolute path", v)
	}

	return nil
}

func checkID(v string) error {
	_, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("%q is not a user or group id", v)
	}

	return nil
}

// ociImageConfig is the part of an OCI image configuration an application container uses.
type ociImageConfig struct {
	Config struct {
		User       string   `json:"User"`
		Env        []string `json:"Env"`
		Entrypoint []string `json:"Entrypoint"`
		Cmd        []string `json:"Cmd"`
		WorkingDir string   `json:"WorkingDir"`
		StopSignal string   `json:"StopSignal"`
	} `json:"config"`
}

// IsOCI tells whether an instance's configuration is that of an application container.
func IsOCI(config map[string]string) bool {
	return config["image.type"] == "oci"
}

// OCIConfig maps an OCI image configuration to instance configuration keys: oci.entrypoint, oci.cwd, oci.uid and
// oci.gid (a numeric User; a user name is left to run as root), environment.* from Env, and the stop signal.
func OCIConfig(raw []byte) (map[string]string, error) {
	var c ociImageConfig
	err := json.Unmarshal(raw, &c)
	if err != nil {
		return nil, fmt.Errorf("invalid OCI image configuration: %w", err)
	}

	out := map[string]string{}
	args := append(append([]string{}, c.Config.Entrypoint...), c.Config.Cmd...)
	if len(args) > 0 {
		out[KeyOCIEntrypoint] = ShellJoin(args)
	}

	out[KeyOCICwd] = "/"
	if path.IsAbs(c.Config.WorkingDir) {
		out[KeyOCICwd] = path.Clean(c.Config.WorkingDir)
	}

	user, group, hasGroup := strings.Cut(c.Config.User, ":")
	if checkID(user) == nil {
		out[KeyOCIUID] = user
		out[KeyOCIGID] = "0"
	}

	if hasGroup && checkID(group) == nil {
		out[KeyOCIGID] = group
	}

	for _, kv := range c.Config.Env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			out["environment."+k] = v
		}
	}

	out[KeyOCIStopSignal] = "SIGTERM"
	if c.Config.StopSignal != "" {
		out[KeyOCIStopSignal] = c.Config.StopSignal
	}

	return out, nil
}

// ShellJoin quotes args for a POSIX shell (and liblxc's command parsing), leaving plain words as they are.
func ShellJoin(args []string) string {
	quoted := make([]string, 0, len(args))
	for _, a := range args {
		plain := a != "" && !strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		})
		if plain {
			quoted = append(quoted, a)
			continue
		}

		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'"'"'`)+"'")
	}

	return strings.Join(quoted, " ")
}

// ociCreateConfig adds to config the keys an application container takes from its OCI image fp, except those the
// creation request set. It returns the image's User when it names a user or group rather than numbers and the
// request set neither oci.uid nor oci.gid: it is resolved once the root filesystem is there (resolveOCIUser).
func (m *Manager) ociCreateConfig(fp string, config map[string]string) (string, error) {
	meta, _, err := m.images.Paths(fp)
	if err != nil {
		return "", err
	}

	raw, err := images.ReadOCIConfig(meta)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", fp, err)
	}

	keys, err := OCIConfig(raw)
	if err != nil {
		return "", err
	}

	_, uidSet := config[KeyOCIUID]
	_, gidSet := config[KeyOCIGID]
	for k, v := range keys {
		_, set := config[k]
		if !set {
			config[k] = v
		}
	}

	var c ociImageConfig
	_ = json.Unmarshal(raw, &c)
	user, group, _ := strings.Cut(c.Config.User, ":")
	if uidSet || gidSet || c.Config.User == "" || (checkID(user) == nil && (group == "" || checkID(group) == nil)) {
		return "", nil
	}

	return c.Config.User, nil
}

// resolveOCIUser resolves a User of an image ("name", "name:group", "uid:group", "name:gid") with the /etc/passwd
// and /etc/group of its root filesystem, read under an os.Root. A user without a group takes its primary group.
func resolveOCIUser(rootfs string, spec string) (string, string, error) {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return "", "", err
	}

	defer func() { _ = root.Close() }()
	user, group, hasGroup := strings.Cut(spec, ":")
	uid, primary := user, "0"
	if checkID(user) != nil {
		fields, err := lookupEntry(root, "etc/passwd", user)
		if err != nil {
			return "", "", err
		}

		uid, primary = fields[2], fields[3]
	}

	gid := primary
	if hasGroup {
		gid = group
		if checkID(group) != nil {
			fields, err := lookupEntry(root, "etc/group", group)
			if err != nil {
				return "", "", err
			}

			gid = fields[2]
		}
	}

	if checkID(uid) != nil || checkID(gid) != nil {
		return "", "", fmt.Errorf("invalid user %q in the image", spec)
	}

	return uid, gid, nil
}

// lookupEntry returns the fields of the line of a passwd or group file whose first field is name.
func lookupEntry(root *os.Root, file string, name string) ([]string, error) {
	data, err := root.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("looking up %q: %w", name, err)
	}

	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) >= 4 && fields[0] == name {
			return fields, nil
		}
	}

	return nil, fmt.Errorf("%q is not in the image's /%s", name, file)
}

// ShellSplit splits a command line as a POSIX shell does for words: single quotes, double quotes (with \\, \" and
// \$ escapes) and backslash escapes; no expansion.
func ShellSplit(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}

			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}

				cur.WriteByte(s[i])
			}

			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}

			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}

			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}

	if inWord {
		words = append(words, cur.String())
	}

	return words, nil
}

// writeOCIFiles writes /etc/hostname, /etc/hosts and /etc/resolv.conf (the host's) into the root filesystem of an
// application container before it starts: OCI images leave them to the runtime. They are written under an os.Root,
// so a symlink in the image cannot send them elsewhere, and owned by the container's root.
func writeOCIFiles(rootfs string, name string, uid int, gid int) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}

	defer func() { _ = root.Close() }()
	err = root.MkdirAll("etc", 0o755)
	if err != nil {
		return err
	}

	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		resolv = nil
	}

	files := []struct {
		name string
		data []byte
	}{
		{"etc/hostname", []byte(name + "\n")},
		{"etc/hosts", []byte("127.0.0.1\tlocalhost\n127.0.1.1\t" + name + "\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")},
		{"etc/resolv.conf", resolv},
	}

	for _, f := range files {
		fi, err := root.Lstat(f.name)
		if err == nil && !fi.Mode().IsRegular() {
			// A symlink or anything else the image put there is replaced.
			err = root.RemoveAll(f.name)
			if err != nil {
				return err
			}
		}

		err = root.WriteFile(f.name, f.data, 0o644)
		if err != nil {
			return fmt.Errorf("writing /%s: %w", f.name, err)
		}

		err = root.Lchown(f.name, uid, gid)
		if err != nil {
			return err
		}
	}

	return nil
}

// setOCIUser records the ids of an application container's user named by its image, resolved in its root filesystem.
func (m *Manager) setOCIUser(ctx context.Context, name string, rootfs string, spec string) error {
	uid, gid, err := resolveOCIUser(rootfs, spec)
	if err != nil {
		return fmt.Errorf("the image's user: %w", err)
	}

	return m.setVolatileTx(ctx, name, map[string]string{KeyOCIUID: uid, KeyOCIGID: gid})
}

// ociPublishConfig is the image configuration of a published application container, made from its configuration
// keys (config, expanded) as they are now, so that what runs is what was published: the command line of
// oci.entrypoint as its entrypoint, oci.cwd, oci.uid:oci.gid, environment.* and the stop signal, the fields
// OCIConfig reads back.
func ociPublishConfig(config map[string]string) ([]byte, error) {
	var c ociImageConfig
	if config[KeyOCIEntrypoint] != "" {
		args, err := ShellSplit(config[KeyOCIEntrypoint])
		if err != nil {
			return nil, fmt.Errorf("invalid %s %q: %w", KeyOCIEntrypoint, config[KeyOCIEntrypoint], err)
		}

		c.Config.Entrypoint = args
	}

	c.Config.WorkingDir = config[KeyOCICwd]
	uid, gid := config[KeyOCIUID], config[KeyOCIGID]
	switch {
	case gid != "":
		c.Config.User = cmp.Or(uid, "0") + ":" + gid
	case uid != "":
		c.Config.User = uid
	}

	for k, v := range config {
		name, ok := strings.CutPrefix(k, "environment.")
		if ok {
			c.Config.Env = append(c.Config.Env, name+"="+v)
		}
	}

	slices.Sort(c.Config.Env)
	c.Config.StopSignal = config[KeyOCIStopSignal]
	return json.Marshal(c)
}
