package client

import "testing"

func TestWithProject(t *testing.T) {
	tests := []struct {
		project string
		path    string
		want    string
	}{
		{"", "/1.0/instances", "/1.0/instances"},
		{"", "/1.0/instances?recursion=1", "/1.0/instances?recursion=1"},
		{"foo", "/1.0", "/1.0?project=foo"},
		{"foo", "/1.0/instances", "/1.0/instances?project=foo"},
		{"foo", "/1.0/instances?recursion=1", "/1.0/instances?recursion=1&project=foo"},
		{"foo", "/1.0/instances/c1/files?path=%2Fetc%2Fhosts", "/1.0/instances/c1/files?path=%2Fetc%2Fhosts&project=foo"},
		{"foo", "/1.0/images?project=default", "/1.0/images?project=default"},
		{"a b&c", "/1.0/profiles", "/1.0/profiles?project=a+b%26c"},
	}

	for _, tt := range tests {
		c := &ProtocolLXD{project: tt.project}
		got := c.withProject(tt.path)
		if got != tt.want {
			t.Errorf("project %q, path %q: got %q, want %q", tt.project, tt.path, got, tt.want)
		}
	}
}
