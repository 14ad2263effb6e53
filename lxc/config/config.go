package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/shared/fsutil"
)

// Remote is a server the CLI knows. The YAML form is the one the stock client reads and writes; the JSON form
// (field names without tags) is what "lxc remote list --format json" prints, as the stock client does.
type Remote struct {
	Addr     string `yaml:"addr"`
	AuthType string `yaml:"auth_type,omitempty"`
	Domain   string `yaml:"domain,omitempty"`
	Project  string `yaml:"project,omitempty"`
	Protocol string `yaml:"protocol,omitempty"`
	Public   bool   `yaml:"public"`
	Global   bool   `yaml:"-"`
	Static   bool   `yaml:"-"`
}

// Config is the content of config.yml plus where it lives.
type Config struct {
	DefaultRemote string            `yaml:"default-remote"`
	Remotes       map[string]Remote `yaml:"remotes"`
	Aliases       map[string]string `yaml:"aliases"`

	// ConfigDir is the configuration directory.
	ConfigDir string `yaml:"-"`

	// ProjectOverride, when set (lxc --project), is the project of every remote instead of the one it is saved with.
	ProjectOverride string `yaml:"-"`
}

// Remote names and protocols.
const (
	LocalRemote = "local"

	ProtocolLXD           = "lxd"
	ProtocolSimpleStreams = "simplestreams"
	ProtocolOCI           = "oci"
)

// staticRemotes are always present and cannot be removed, renamed or changed.
var staticRemotes = map[string]Remote{
	LocalRemote: {Addr: "unix://", Public: false, Static: true},
	"ubuntu": {
		Addr: "https://cloud-images.ubuntu.com/releases", Protocol: ProtocolSimpleStreams, Public: true, Static: true,
	},
	"ubuntu-daily": {
		Addr: "https://cloud-images.ubuntu.com/daily", Protocol: ProtocolSimpleStreams, Public: true, Static: true,
	},
}

// defaultRemotes are the ordinary remotes of a new configuration; they can be removed like any other.
var defaultRemotes = map[string]Remote{
	"images": {Addr: "https://images.linuxcontainers.org", Protocol: ProtocolSimpleStreams, Public: true},
}

// IsStatic reports whether name is one of the built-in remotes that cannot be changed.
func IsStatic(name string) bool {
	_, ok := staticRemotes[name]
	return ok
}

// Dir returns the configuration directory from LXD_CONF, or ~/.config/lxc.
func Dir() string {
	dir := os.Getenv("LXD_CONF")
	if dir != "" {
		return dir
	}

	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}

	return filepath.Join(home, ".config", "lxc")
}

// Load reads config.yml from dir. A missing file gives the default configuration; the static remotes are always
// added (keeping the project a file sets on them).
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.yml")
	cfg := &Config{ConfigDir: dir}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	if err == nil {
		err = yaml.Unmarshal(data, cfg)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
	} else {
		cfg.Remotes = map[string]Remote{}
		for name, r := range defaultRemotes {
			cfg.Remotes[name] = r
		}
	}

	if cfg.Remotes == nil {
		cfg.Remotes = map[string]Remote{}
	}

	if cfg.Aliases == nil {
		cfg.Aliases = map[string]string{}
	}

	for name, static := range staticRemotes {
		existing, ok := cfg.Remotes[name]
		if ok {
			static.Project = existing.Project
			if name == LocalRemote && strings.HasPrefix(existing.Addr, "unix:") {
				// A custom socket path for the local remote is kept.
				static.Addr = existing.Addr
			}
		}

		cfg.Remotes[name] = static
	}

	if cfg.DefaultRemote == "" {
		cfg.DefaultRemote = LocalRemote
	}

	return cfg, nil
}

// Marshal returns config.yml as the stock client writes it: two-space YAML of the default remote, the remotes
// (the local remote included, the other static ones left out) and the aliases.
func (c *Config) Marshal() ([]byte, error) {
	out := Config{DefaultRemote: c.DefaultRemote, Remotes: map[string]Remote{}, Aliases: c.Aliases}
	if out.Aliases == nil {
		out.Aliases = map[string]string{}
	}

	for name, r := range c.Remotes {
		if r.Global || (r.Static && name != LocalRemote) {
			continue
		}

		out.Remotes[name] = r
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	err := enc.Encode(&out)
	if err != nil {
		return nil, err
	}

	err = enc.Close()
	if err != nil {
		return nil, err
	}

	return buf.Bytes(), nil
}

// Save writes config.yml atomically, creating the configuration directory if needed.
func (c *Config) Save() error {
	err := os.MkdirAll(c.ConfigDir, 0o750)
	if err != nil {
		return err
	}

	data, err := c.Marshal()
	if err != nil {
		return err
	}

	path := filepath.Join(c.ConfigDir, "config.yml")
	return fsutil.WriteFileAtomic(path, data, 0o644)
}

// RemoteNames returns the remote names in order.
func (c *Config) RemoteNames() []string {
	names := make([]string, 0, len(c.Remotes))
	for name := range c.Remotes {
		names = append(names, name)
	}

	sort.Strings(names)
	return names
}

// ParseRemote splits "remote:name" into its parts; without a known remote prefix the default remote is used.
func (c *Config) ParseRemote(raw string) (string, string, error) {
	remote, name, found := strings.Cut(raw, ":")
	if !found {
		return c.DefaultRemote, raw, nil
	}

	_, ok := c.Remotes[remote]
	if !ok {
		return "", "", fmt.Errorf("the remote %q doesn't exist", remote)
	}

	return remote, name, nil
}

// ServerCertPath is where the pinned certificate of a remote lives.
func (c *Config) ServerCertPath(remote string) string {
	return filepath.Join(c.ConfigDir, "servercerts", remote+".crt")
}

// ClientCertPath is the client certificate path.
func (c *Config) ClientCertPath() string {
	return filepath.Join(c.ConfigDir, "client.crt")
}

// ClientKeyPath is the client key path.
func (c *Config) ClientKeyPath() string {
	return filepath.Join(c.ConfigDir, "client.key")
}
