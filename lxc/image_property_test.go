package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

func TestImageGetProperty(t *testing.T) {
	_, conf := newFakeImageServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bb", "os"}, "busybox\n"},
		{[]string{"local:img9", "user.foo"}, "bar\n"},
		{[]string{"aa21", "description"}, "Busybox x86_64\n"},
	}

	for _, tt := range tests {
		got := mustRunImage(t, conf, "", append([]string{"image", "get-property"}, tt.args...)...)
		if got != tt.want {
			t.Fatalf("get-property %v: got %q, want %q", tt.args, got, tt.want)
		}
	}

	errorCases := []struct {
		args []string
		want string
	}{
		{[]string{"bb", "nope"}, "property not found"},
		{[]string{"ffff", "os"}, "Image not found"},
		{[]string{"local:", "os"}, "image identifier missing"},
		{[]string{"bb"}, "invalid number of arguments"},
		{[]string{"bb", "os", "x"}, "invalid number of arguments"},
	}

	for _, tc := range errorCases {
		_, err := runImageCmd(t, conf, "", append([]string{"image", "get-property"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("get-property %v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestImageSetUnsetProperty(t *testing.T) {
	s, conf := newFakeImageServer(t)
	const bbFP = "aa2149e1633d32bbe5444cd5deaf092bbed5e345874071749972276789020320"

	// putOf returns the image a PUT sent and the ETag it was sent under.
	putOf := func() (api.ImagePut, string) {
		t.Helper()
		body, ifMatch, err := s.bodyOf("PUT /1.0/images/" + bbFP)
		if err != nil {
			t.Fatalf("got requests %v, want a PUT of the image", s.log())
		}

		var put api.ImagePut
		err = json.Unmarshal([]byte(body), &put)
		if err != nil {
			t.Fatal(err)
		}

		return put, ifMatch
	}

	// As "lxc image edit": the writable fields as read, with the ETag they were read with; a prefix is resolved to
	// the full fingerprint first.
	s.resetLog()
	mustRunImage(t, conf, "", "image", "set-property", "aa21", "os", "Busy Box")
	put, ifMatch := putOf()
	want := map[string]string{"description": "Busybox x86_64", "os": "Busy Box", "release": "1.35"}
	if !reflect.DeepEqual(put.Properties, want) || ifMatch != `"etag-aa2149e1"` {
		t.Fatalf("got properties %v (If-Match %s), want %v", put.Properties, ifMatch, want)
	}

	wantLog := "[GET /1.0/images/aliases/aa21 GET /1.0/images/aa21 PUT /1.0/images/" + bbFP + "]"
	if fmt.Sprint(s.log()) != wantLog {
		t.Fatalf("got requests %v, want %s", s.log(), wantLog)
	}

	// Unset sets the empty string, as the stock client does (it leaves the key in place).
	s.resetLog()
	mustRunImage(t, conf, "", "image", "unset-property", "bb", "release")
	put, _ = putOf()
	want = map[string]string{"description": "Busybox x86_64", "os": "busybox", "release": ""}
	if !reflect.DeepEqual(put.Properties, want) {
		t.Fatalf("got properties %v, want %v", put.Properties, want)
	}

	// An image without properties gets its first one.
	s.resetLog()
	mustRunImage(t, conf, "", "image", "set-property", "0011", "k", "v")
	body, _, err := s.bodyOf("PUT /1.0/images/0011223344556677889900112233445566778899001122334455667788990011")
	if err != nil || !strings.Contains(body, `"properties":{"k":"v"}`) {
		t.Fatalf("got body %q (%v), requests %v", body, err, s.log())
	}

	errorCases := []struct {
		args []string
		want string
	}{
		{[]string{"set-property", "ffff", "k", "v"}, "Image not found"},
		{[]string{"unset-property", "ffff", "k"}, "Image not found"},
		{[]string{"set-property", "bb", "k"}, "invalid number of arguments"},
		{[]string{"unset-property", "bb"}, "invalid number of arguments"},
		{[]string{"unset-property", "bb", "k", "v"}, "invalid number of arguments"},
		{[]string{"set-property", "nope:bb", "k", "v"}, `the remote "nope" doesn't exist`},
	}

	for _, tc := range errorCases {
		_, err := runImageCmd(t, conf, "", append([]string{"image"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}
