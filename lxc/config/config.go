// Package config reads and writes the CLI's configuration directory ($LXD_CONF, default ~/.config/lxc): config.yml
// with the remotes, the client key pair and the pinned server certificates.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Remote is a server the CLI knows.
type Remote struct {
	Addr     string `yaml:"addr"`
	AuthType string `yaml:"auth_type,omitempty"`
	Project  string `yaml:"project,omitempty"`
	Protocol string `yaml:"protocol,omitempty"`
	Public   bool   `yaml:"public"`
	Static   bool   `yaml:"-"`
	Global   bool   `yaml:"-"`
}

// Config is the content of config.yml plus where it lives.
type Config struct {
	DefaultRemote string            `yaml:"default-remote"`
	Remotes       map[string]Remote `yaml:"remotes"`
	Aliases       map[string]string `yaml:"aliases"`

	// ConfigDir is the configuration directory.
	ConfigDir string `yaml:"-"`
}

// Default remote names.
const (
	LocalRemote = "local"
)

// staticRemotes are always present and cannot be changed.
var staticRemotes = map[string]Remote{
	"images": {Addr: "https://images.linuxcontainers.org", Protocol: "simplestreams", Public: true, Static: true},
	"ubuntu": {Addr: "https://cloud-images.ubuntu.com/releases", Protocol: "simplestreams", Public: true, Static: true},
	"ubuntu-daily": {
		Addr: "https://cloud-images.ubuntu.com/daily", Protocol: "simplestreams", Public: true, Static: true,
	},
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

// Load reads config.yml from dir; a missing file gives the default configuration.
func Load(dir string) (*Config, error) {
	cfg := &Config{ConfigDir: dir, Remotes: map[string]Remote{}, Aliases: map[string]string{}}
	data, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	if err == nil {
		err = yaml.Unmarshal(data, cfg)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "config.yml"), err)
		}
	}

	if cfg.Remotes == nil {
		cfg.Remotes = map[string]Remote{}
	}

	if cfg.Aliases == nil {
		cfg.Aliases = map[string]string{}
	}

	_, ok := cfg.Remotes[LocalRemote]
	if !ok {
		cfg.Remotes[LocalRemote] = Remote{Addr: "unix://", Public: false}
	}

	for name, r := range staticRemotes {
		cfg.Remotes[name] = r
	}

	if cfg.DefaultRemote == "" {
		cfg.DefaultRemote = LocalRemote
	}

	return cfg, nil
}

// Save writes config.yml atomically; static remotes are not written.
func (c *Config) Save() error {
	err := os.MkdirAll(c.ConfigDir, 0o750)
	if err != nil {
		return err
	}

	out := Config{DefaultRemote: c.DefaultRemote, Remotes: map[string]Remote{}, Aliases: c.Aliases}
	for name, r := range c.Remotes {
		if r.Static {
			continue
		}

		out.Remotes[name] = r
	}

	data, err := yaml.Marshal(&out)
	if err != nil {
		return err
	}

	path := filepath.Join(c.ConfigDir, "config.yml")
	tmp := path + ".tmp"
	err = os.WriteFile(tmp, data, 0o600)
	if err != nil {
		return err
	}

	return os.Rename(tmp, path)
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
		// "host:port" style names are not remotes; only known names are.
		return "", "", fmt.Errorf("remote %s doesn't exist", remote)
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
