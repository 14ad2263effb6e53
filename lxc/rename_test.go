package main

import (
	"reflect"
	"testing"
)

func TestRenameArgs(t *testing.T) {
	conf := mustLoadConfig(t, aliasConf(t, "default-remote: local\nremotes:\n  other:\n    addr: https://127.0.0.1:8443\n"))
	c := &cmdRename{global: &cmdGlobal{conf: conf}}
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"same remote", []string{"c1", "c2"}, []string{"c1", "c2"}, ""},
		{"both named", []string{"local:c1", "local:c2"}, []string{"local:c1", "local:c2"}, ""},
		{"new name takes the old remote", []string{"other:c1", "c2"}, []string{"other:c1", "other:c2"}, ""},
		{"snapshot", []string{"other:c1/s0", "c1/s1"}, []string{"other:c1/s0", "other:c1/s1"}, ""},
		{"explicit default remote on the new name", []string{"c1", "local:c2"}, []string{"c1", "local:c2"}, ""},
		{"another remote", []string{"other:c1", "local:c2"}, nil, "can't specify a different remote for rename"},
		{"unknown remote", []string{"nope:c1", "c2"}, nil, `the remote "nope" doesn't exist`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.renameArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}

				return
			}

			if err != nil {
				t.Fatal(err)
			}

			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenameArgCount(t *testing.T) {
	dir := aliasConf(t, "default-remote: local\nremotes: {}\n")
	for _, args := range [][]string{{"c1"}, {"c1", "c2", "c3"}} {
		_, _, err := runTree(t, dir, append([]string{"rename"}, args...)...)
		if err == nil || err.Error() != "invalid number of arguments" {
			t.Fatalf("rename %v: got %v, want invalid number of arguments", args, err)
		}
	}
}
