package main

import (
	"reflect"
	"testing"
)

func TestParseDeviceOverrides(t *testing.T) {
	tests := []struct {
		args    []string
		want    map[string]map[string]string
		wantErr bool
	}{
		{args: nil, want: map[string]map[string]string{}},
		{args: []string{"root,size=1GiB", "root,io.bus=nvme", "eth0,mtu=1400"},
			want: map[string]map[string]string{"root": {"size": "1GiB", "io.bus": "nvme"}, "eth0": {"mtu": "1400"}}},
		{args: []string{"root,limits.read=a=b"}, want: map[string]map[string]string{"root": {"limits.read": "a=b"}}},
		{args: []string{"root,size="}, want: map[string]map[string]string{"root": {"size": ""}}},
		{args: []string{"root"}, wantErr: true},
		{args: []string{"root,size"}, wantErr: true},
		{args: []string{"size=1GiB"}, wantErr: true},
		{args: []string{",size=1GiB"}, wantErr: true},
	}

	for _, tt := range tests {
		got, err := parseDeviceOverrides(tt.args)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%v: got error %v, want error %v", tt.args, err, tt.wantErr)
		}

		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%v: got %v, want %v", tt.args, got, tt.want)
		}
	}
}
