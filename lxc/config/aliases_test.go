package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStockAliasesRoundTrip reads and writes back testdata/stock-config-aliases.yml, written by the stock LXD 5.0.2
// client after "lxc alias add" of aliases whose names and targets need YAML quoting, have several words, non-ASCII
// letters and @ARGS@/@ARG1@.
func TestStockAliasesRoundTrip(t *testing.T) {
	stock, err := os.ReadFile(filepath.Join("testdata", "stock-config-aliases.yml"))
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	err = os.WriteFile(filepath.Join(dir, "config.yml"), stock, 0o644)
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		"Zed":     "image list os=busybox",
		"a9":      "version",
		"a10":     "info local:",
		"colon":   "config get c1 key: value",
		"ext":     "/bin/echo hello @ARGS@",
		"ll":      "list -c ns46S",
		"sh":      `exec @ARG1@ -- sh -c "@ARGS@"`,
		"snap ls": "info @ARG1@",
		"weird":   `!echo <b>&"quoted" @ARG1@`,
		"yes":     "no",
		"ünï":     "list ünï",
	}

	if len(cfg.Aliases) != len(want) {
		t.Fatalf("got aliases %v, want %v", cfg.Aliases, want)
	}

	for k, v := range want {
		if cfg.Aliases[k] != v {
			t.Errorf("alias %q: got %q, want %q", k, cfg.Aliases[k], v)
		}
	}

	err = cfg.Save()
	if err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}

	if string(got) != string(stock) {
		t.Fatalf("config.yml differs from the stock client's:\ngot:\n%s\nwant:\n%s", got, stock)
	}
}
