package backup

import (
	"gopkg.in/yaml.v3"

	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// maxYAMLSize bounds index.yaml and backup.yaml.
const maxYAMLSize = 8 << 20

// Info is backup/index.yaml.
type Info struct {
	Name            string   `yaml:"name"`
	Backend         string   `yaml:"backend"`
	Pool            string   `yaml:"pool"`
	Snapshots       []string `yaml:"snapshots,omitempty"`
	Optimized       *bool    `yaml:"optimized,omitempty"`
	OptimizedHeader *bool    `yaml:"optimized_header,omitempty"`
	Type            string   `yaml:"type"`
	Config          *Config  `yaml:"config,omitempty"`
}

// Config is backup/container/backup.yaml, also kept as the config of index.yaml: the instance, its snapshots and
// the storage they were on.
type Config struct {
	Container       *api.Instance                `yaml:"container,omitempty"`
	Snapshots       []*api.InstanceSnapshot      `yaml:"snapshots,omitempty"`
	Pool            *api.StoragePool             `yaml:"pool,omitempty"`
	Profiles        []*api.Profile               `yaml:"profiles,omitempty"`
	Volume          *api.StorageVolume           `yaml:"volume,omitempty"`
	VolumeSnapshots []*api.StorageVolumeSnapshot `yaml:"volume_snapshots,omitempty"`
}

// parseInfo reads index.yaml.
func parseInfo(data []byte) (*Info, error) {
	info := &Info{}
	err := yaml.Unmarshal(data, info)
	if err != nil {
		return nil, errs.Invalid("invalid backup: reading backup/index.yaml: %v", err)
	}

	if info.Name == "" {
		return nil, errs.Invalid("the index of the backup names no instance")
	}

	if info.Type != "" && info.Type != api.InstanceTypeContainer {
		return nil, errs.Invalid("instance type %q is not supported", info.Type)
	}

	if info.Optimized != nil && *info.Optimized {
		return nil, errs.Invalid("optimized backups are not supported: export the instance without --optimized-storage")
	}

	return info, nil
}

// parseConfig reads backup.yaml.
func parseConfig(data []byte) (*Config, error) {
	cfg := &Config{}
	err := yaml.Unmarshal(data, cfg)
	if err != nil {
		return nil, errs.Invalid("invalid backup: reading backup.yaml: %v", err)
	}

	return cfg, nil
}
