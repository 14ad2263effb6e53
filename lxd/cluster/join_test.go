package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/db/schema"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
)

// trustServer records fp in tm's trust store as the server certificate of member name, as a join token does.
func (tm *testMember) trustServer(t *testing.T, fp string, name string) {
	t.Helper()

	err := tm.db.Transaction(testContext(t), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateCertificate(ctx, db.Certificate{Fingerprint: fp, Type: api.CertificateTypeServer, Name: name, Certificate: "x"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDecodeJoinToken(t *testing.T) {
	good := &api.ClusterMemberJoinToken{ServerName: "n2", Fingerprint: "ab", Addresses: []string{"10.0.0.1:8443"}, Secret: "s"}
	got, err := DecodeJoinToken(" " + good.String() + "\n")
	if err != nil || !reflect.DeepEqual(got, good) {
		t.Fatalf("DecodeJoinToken = %+v, %v", got, err)
	}

	expired := *good
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	noSecret := *good
	noSecret.Secret = ""
	for name, token := range map[string]string{
		"not base64": "%%%",
		"not JSON":   base64.StdEncoding.EncodeToString([]byte("nope")),
		"no secret":  noSecret.String(),
		"expired":    expired.String(),
	} {
		_, err := DecodeJoinToken(token)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

// Accept admits only the certificate a token admitted for the name, at the member's schema and API, and replaces
// what an unfinished join of the same server left; the answer has what the joiner needs.
func TestAccept(t *testing.T) {
	tm := newTestMember(t)
	tm.enable(t, "n1")
	ctx := testContext(t)
	fp := strings.Repeat("ab", 32)
	req := AcceptRequest{Name: "n2", Address: "127.0.0.1:9999", Schema: schema.Latest(), APIExtensions: 42, Architecture: "x86_64"}

	_, err := tm.m.Accept(ctx, fp, req)
	if !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("an untrusted certificate: %v", err)
	}

	tm.trustServer(t, fp, "other")
	_, err = tm.m.Accept(ctx, fp, req)
	if !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a certificate admitted for another name: %v", err)
	}

	tm.trustServer(t, strings.Repeat("cd", 32), "n2")
	fp = strings.Repeat("cd", 32)
	for name, bad := range map[string]AcceptRequest{
		"older schema": {Name: "n2", Address: req.Address, Schema: req.Schema - 1, APIExtensions: 42},
		"other API":    {Name: "n2", Address: req.Address, Schema: req.Schema, APIExtensions: 41},
		"wildcard":     {Name: "n2", Address: ":9999", Schema: req.Schema, APIExtensions: 42},
		"bad name":     {Name: "n_2", Address: req.Address, Schema: req.Schema, APIExtensions: 42},
	} {
		_, err = tm.m.Accept(ctx, fp, bad)
		if !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}

	resp, err := tm.m.Accept(ctx, fp, req)
	if err != nil {
		t.Fatal(err)
	}

	if resp.ID == 0 || !reflect.DeepEqual(resp.Members, []string{tm.addr}) || resp.ClusterKey == "" || resp.ClusterCertificate != string(tm.cert.PEM) {
		t.Fatalf("answer %+v", resp)
	}

	// The joining server is not a member until it finished.
	members, err := tm.m.Members(ctx)
	if err != nil || len(members) != 1 {
		t.Fatalf("members while joining: %v, %v", members, err)
	}

	// The same server again: its unfinished record is replaced. Another server at its address is a conflict.
	again, err := tm.m.Accept(ctx, fp, req)
	if err != nil || again.ID == resp.ID {
		t.Fatalf("second attempt: %+v, %v", again, err)
	}

	tm.trustServer(t, strings.Repeat("ef", 32), "n3")
	other := req
	other.Name = "n3"
	_, err = tm.m.Accept(ctx, strings.Repeat("ef", 32), other)
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("another server at the address: %v", err)
	}

	err = tm.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		return tx.SetNodeJoined(ctx, again.ID, time.Now(), req.Schema, 42)
	})
	if err != nil {
		t.Fatal(err)
	}

	_, err = tm.m.Accept(ctx, fp, req)
	if !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("a member in service accepted again: %v", err)
	}
}

// Join refuses, before it contacts anyone, what it cannot carry out.
func TestJoinRefusals(t *testing.T) {
	tm := newTestMember(t)
	ctx := testContext(t)
	token := (&api.ClusterMemberJoinToken{ServerName: "n2", Fingerprint: "ab", Addresses: []string{"127.0.0.1:1"}, Secret: "s"}).String()
	cases := map[string]struct {
		put  api.ClusterPut
		want error
	}{
		"no token":      {api.ClusterPut{Cluster: api.Cluster{ServerName: "n2", Enabled: true}, ClusterAddress: "127.0.0.1:1"}, errs.ErrUnsupported},
		"bad token":     {api.ClusterPut{Cluster: api.Cluster{ServerName: "n2", Enabled: true}, ClusterToken: "x"}, errs.ErrInvalid},
		"other name":    {api.ClusterPut{Cluster: api.Cluster{ServerName: "n3", Enabled: true}, ClusterToken: token}, errs.ErrInvalid},
		"bad name":      {api.ClusterPut{Cluster: api.Cluster{ServerName: "-", Enabled: true}, ClusterToken: token}, errs.ErrInvalid},
		"certificate":   {api.ClusterPut{Cluster: api.Cluster{ServerName: "n2", Enabled: true}, ClusterToken: token, ClusterCertificate: string(tm.cert.PEM)}, errs.ErrInvalid},
		"wildcard addr": {api.ClusterPut{Cluster: api.Cluster{ServerName: "n2", Enabled: true}, ClusterToken: token, ServerAddress: ":8443"}, errs.ErrInvalid},
	}

	for name, c := range cases {
		err := tm.m.Join(ctx, c.put)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}

	if exists(tm.g.Dir()) || exists(tm.paths.ClusterCert) || tm.m.Clustered() {
		t.Fatal("a refused join left something behind")
	}
}
