package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lxd-go/lxd/client"
	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/errs"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// MemberRef names a member and the address it serves the API on.
type MemberRef struct {
	Name    string
	Address string
}

// OtherMembers lists the members but this one, in the order they joined.
func (m *Manager) OtherMembers(ctx context.Context) ([]MemberRef, error) {
	if !m.Clustered() {
		return nil, nil
	}

	own := m.Address()
	var out []MemberRef
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		nodes, err := tx.GetNodes(ctx)
		if err != nil {
			return err
		}

		for _, n := range nodes {
			if n.Address != own && n.State != db.NodePending {
				out = append(out, MemberRef{Name: n.Name, Address: n.Address})
			}
		}

		return nil
	})
	return out, err
}

// MemberAddress returns the address of member name, or "" when it is this member or the server is not clustered.
func (m *Manager) MemberAddress(ctx context.Context, name string) (string, error) {
	if !m.Clustered() {
		return "", nil
	}

	var addr string
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		n, err := tx.GetNode(ctx, name)
		if err != nil {
			return err
		}

		if n.State == db.NodePending {
			return errs.NotFound("cluster member %q not found", name)
		}

		addr = n.Address
		return nil
	})
	if err != nil {
		return "", err
	}

	if addr == m.Address() {
		return "", nil
	}

	return addr, nil
}

// InstanceMember returns the member an instance (by its key) is on, with the address to reach it at: an empty
// address when it is this member, when the server is not clustered or when there is no such instance.
func (m *Manager) InstanceMember(ctx context.Context, key string) (MemberRef, error) {
	if !m.Clustered() {
		return MemberRef{}, nil
	}

	var ref MemberRef
	err := m.args.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		inst, err := tx.GetInstance(ctx, key)
		if errors.Is(err, errs.ErrNotFound) {
			return nil
		}

		if err != nil {
			return err
		}

		n, err := tx.GetNode(ctx, inst.Node)
		if err != nil {
			return err
		}

		ref = MemberRef{Name: n.Name, Address: n.Address}
		return nil
	})
	if err != nil || ref.Address == m.Address() {
		return MemberRef{}, err
	}

	return ref, nil
}

// transport returns the HTTP transport members use to reach each other's API: the cluster certificate on both
// sides.
func (m *Manager) transport() (*http.Transport, error) {
	cert := m.Certificate()
	if cert == nil {
		return nil, errors.New("this member has no cluster certificate")
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fwd != nil && m.fwdCert == cert {
		return m.fwd, nil
	}

	cfg, err := tlsutil.ClientConfig(cert, cert.PEM)
	if err != nil {
		return nil, err
	}

	m.fwd = &http.Transport{
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}

	m.fwdCert = cert
	return m.fwd, nil
}

// Proxy returns the handler that passes a request on to the member at address, as it came (websocket upgrades
// included), authenticated with the cluster certificate; the member's answer goes back unchanged.
func (m *Manager) Proxy(address string) (http.Handler, error) {
	tr, err := m.transport()
	if err != nil {
		return nil, err
	}

	target := &url.URL{Scheme: "https", Host: address}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = address
		},
		Transport:     tr,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"type": api.ErrorResponse, "error_code": http.StatusServiceUnavailable,
				"error": fmt.Sprintf("cluster member %s is not reachable: %v", address, err),
			})
		},
	}, nil
}

// Query sends a request to the API of the member at address and returns the metadata of its answer.
func (m *Manager) Query(ctx context.Context, address string, method string, uri string) (json.RawMessage, error) {
	tr, err := m.transport()
	if err != nil {
		return nil, err
	}

	req, err := http.NewRequestWithContext(ctx, method, "https://"+address+uri, nil)
	if err != nil {
		return nil, err
	}

	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster member %s: %w", address, err)
	}

	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("cluster member %s: %w", address, err)
	}

	var raw api.ResponseRaw
	err = json.Unmarshal(body, &raw)
	if err != nil {
		return nil, fmt.Errorf("cluster member %s: invalid answer: %w", address, err)
	}

	if raw.Type == api.ErrorResponse {
		return nil, api.StatusErrorf(raw.Code, "%s", raw.Error)
	}

	return raw.Metadata, nil
}

// FetchImage has fetch copy image fp from one of the other members, trying each in turn, authenticated with the
// cluster certificate: the files of an image are on the members that imported or used it.
func (m *Manager) FetchImage(ctx context.Context, fp string, fetch func(ctx context.Context, server client.ImageServer, fp string) error) error {
	members, err := m.OtherMembers(ctx)
	if err != nil {
		return err
	}

	cert := m.Certificate()
	if cert == nil || len(members) == 0 {
		return errs.NotFound("image %q is on no other cluster member", fp)
	}

	keyPEM, err := os.ReadFile(m.args.Paths.ClusterKey)
	if err != nil {
		return fmt.Errorf("reading the cluster key: %w", err)
	}

	var errList []error
	for _, member := range members {
		server, err := client.ConnectLXD("https://"+member.Address, &client.ConnectionArgs{
			TLSClientCert: string(cert.PEM),
			TLSClientKey:  string(keyPEM),
			TLSServerCert: string(cert.PEM),
			SkipGetServer: true,
		})
		if err == nil {
			err = fetch(ctx, server, fp)
		}

		if err == nil {
			return nil
		}

		errList = append(errList, fmt.Errorf("%s: %w", member.Name, err))
	}

	return fmt.Errorf("copying image %s from another cluster member: %w", fp, errors.Join(errList...))
}

// ImageFetchPath is where a member is asked to copy an image's files from the others (?fingerprint=).
const ImageFetchPath = "/internal/cluster/image-fetch"

// ReplicateImage has other members copy the files of image fp, just stored here, until
// cluster.images_minimal_replica members hold them (-1: every member; 1: this one only), as LXD does. The online
// members are asked in the order they joined; a failure is logged and the next one is asked.
func (m *Manager) ReplicateImage(ctx context.Context, fp string) {
	if !m.Clustered() {
		return
	}

	want := m.args.Config().Int(config.ImagesMinimalReplica)
	if want == 1 {
		return
	}

	members, err := m.onlineOthers(ctx)
	if err != nil {
		slog.Warn("not replicating an image", "fingerprint", fp, "err", err)
		return
	}

	held := int64(1)
	for _, member := range members {
		if want > 0 && held >= want {
			return
		}

		_, err := m.Query(ctx, member.Address, http.MethodPost, ImageFetchPath+"?fingerprint="+url.QueryEscape(fp))
		if err != nil {
			slog.Warn("cluster member did not copy an image", "member", member.Name, "fingerprint", fp, "err", err)
			continue
		}

		held++
	}
}

// onlineOthers lists the other members that are online, in the order they joined.
func (m *Manager) onlineOthers(ctx context.Context) ([]MemberRef, error) {
	members, err := m.Members(ctx)
	if err != nil {
		return nil, err
	}

	var out []MemberRef
	for _, member := range members {
		addr := strings.TrimPrefix(member.URL, "https://")
		if addr != m.Address() && member.Status == StatusOnline {
			out = append(out, MemberRef{Name: member.ServerName, Address: addr})
		}
	}

	return out, nil
}

// ReloadPath is where a member is told to read the configuration and the trust store again: another member changed
// them.
const ReloadPath = "/internal/cluster/reload"

// NotifyOthers posts to path on every other online member, logging those that do not answer.
func (m *Manager) NotifyOthers(ctx context.Context, path string) {
	members, err := m.onlineOthers(ctx)
	if err != nil {
		return
	}

	for _, member := range members {
		_, err := m.Query(ctx, member.Address, http.MethodPost, path)
		if err != nil {
			slog.Warn("cluster member not notified", "member", member.Name, "path", path, "err", err)
		}
	}
}

// AskOthers sends GET uri to every other member at once, and calls each (one at a time) with a member's answer or
// error.
func (m *Manager) AskOthers(ctx context.Context, uri string, each func(member MemberRef, raw json.RawMessage, err error)) {
	members, err := m.OtherMembers(ctx)
	if err != nil {
		slog.Warn("listing the other cluster members", "err", err)
		return
	}

	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, member := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, err := m.Query(ctx, member.Address, http.MethodGet, uri)
			mu.Lock()
			defer mu.Unlock()
			each(member, raw, err)
		}()
	}

	wg.Wait()
}

// OperationMember returns the address of the other member that runs operation id, "" when none does.
func (m *Manager) OperationMember(ctx context.Context, id string) (string, error) {
	members, err := m.OtherMembers(ctx)
	if err != nil {
		return "", err
	}

	for _, member := range members {
		_, err := m.Query(ctx, member.Address, http.MethodGet, "/1.0/operations/"+url.PathEscape(id))
		if err == nil {
			return member.Address, nil
		}
	}

	return "", nil
}
