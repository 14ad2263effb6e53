package lxc

import (
	"slices"
	"testing"

	"github.com/lxd-go/lxd/lxd/instance"
)

func TestConfigAppArmorProfile(t *testing.T) {
	for _, tt := range []struct {
		profile string
		want    string
	}{{"", "unconfined"}, {"lxd-c1_</var/lib/lxd>", "lxd-c1_</var/lib/lxd>"}} {
		cfg, err := Config(instance.Spec{Name: "c1", Rootfs: t.TempDir(), Config: map[string]string{}, AppArmorProfile: tt.profile})
		if err != nil {
			t.Fatal(err)
		}

		if !slices.Contains(cfg, [2]string{"lxc.apparmor.profile", tt.want}) {
			t.Errorf("profile %q: lxc.apparmor.profile is not %q in %v", tt.profile, tt.want, cfg)
		}
	}
}
