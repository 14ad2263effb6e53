package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/cluster"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// forwardResponse hands the request to another member of the cluster, which answers it.
type forwardResponse struct {
	handler http.Handler
}

func (f forwardResponse) Render(w http.ResponseWriter, r *http.Request) error {
	f.handler.ServeHTTP(w, r)
	return nil
}

// fromMember reports whether a request comes from another member of the cluster (with the cluster certificate):
// it is never forwarded again, and the lists answered to it hold this member's instances only.
func fromMember(r *http.Request) bool {
	req := request.GetRequestor(r)
	return req.Trusted && req.Protocol == "tls" && req.CertificateType == api.CertificateTypeServer
}

// forwardRequest returns the response that forwards a request to the member that must serve it, once this member
// authorized it, or nil when this member serves it: the requests about an instance on another member, a creation
// placed on another member with ?target=, and the requests about an operation another member runs.
func forwardRequest(s *state.State, r *http.Request, path string) response.Response {
	if s.Cluster == nil || !s.Cluster.Clustered() || fromMember(r) {
		return nil
	}

	path = strings.TrimPrefix(path, "/1.0/")
	ctx := r.Context()
	var address string
	var err error
	switch {
	case strings.HasPrefix(path, "instances/{name}") || strings.HasPrefix(path, "containers/{name}"):
		key, keyErr := instanceName(r)
		if keyErr != nil {
			return nil
		}

		// The storage of an instance is on its member: one found here needs no query of where it is.
		if s.Storage != nil && s.Storage.HasContainer(key) {
			return nil
		}

		var ref cluster.MemberRef
		ref, err = s.Cluster.InstanceMember(ctx, key)
		address = ref.Address
	case (path == "instances" || path == "containers") && r.Method == http.MethodPost && r.URL.Query().Get("target") != "":
		address, err = s.Cluster.MemberAddress(ctx, r.URL.Query().Get("target"))
	case (path == "instances" || path == "containers") && r.Method == http.MethodPost:
		address, err = placeInstance(s, r)
	case path == "cluster/members/{name}/state":
		name, nameErr := request.PathVar(r, "name")
		if nameErr != nil {
			return nil
		}

		address, err = s.Cluster.MemberAddress(ctx, name)
	case strings.HasPrefix(path, "operations/{id}"):
		address, err = operationMember(s, r)
	default:
		return nil
	}

	if err != nil {
		return response.SmartError(err)
	}

	if address == "" {
		return nil
	}

	proxy, err := s.Cluster.Proxy(address)
	if err != nil {
		return response.SmartError(err)
	}

	// The events of the operation the request may start there reach this member's clients.
	s.Cluster.WaitRelay(ctx, address)

	return forwardResponse{handler: proxy}
}

// placeInstanceBodyLimit bounds the creation request read to decide where the instance goes.
const placeInstanceBodyLimit = 1 << 20

// placeInstance returns the address of the member a creation that names none goes on (Manager.PlaceInstance), ""
// for this member. A backup import (its body is the backup) stays here.
func placeInstance(s *state.State, r *http.Request) (string, error) {
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		return "", nil
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, placeInstanceBodyLimit+1))
	if err != nil {
		return "", err
	}

	// The handler, here or on the member the request goes to, reads the body again.
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if len(body) > placeInstanceBodyLimit {
		return "", nil
	}

	req := api.InstancesPost{}
	if json.Unmarshal(body, &req) != nil {
		return "", nil
	}

	return s.Cluster.PlaceInstance(r.Context(), req.Source.Type)
}

// operationMember returns the address of the member running an operation this member does not know, "" when no
// other member knows it either (this member then answers not found).
func operationMember(s *state.State, r *http.Request) (string, error) {
	id, err := request.PathVar(r, "id")
	if err != nil {
		return "", nil
	}

	_, err = s.Ops.Get(id)
	if err == nil {
		return "", nil
	}

	return s.Cluster.OperationMember(r.Context(), id)
}

// gatherInstances adds to local, this member's answer to a list request, what the other members answer to the
// same request with recursion (1 or 2). The instances of a member that does not answer are listed from the database
// with status Error, through unreachable.
func gatherInstances[T any](s *state.State, r *http.Request, recursion int, local []T, unreachable func(api.Instance) T) []T {
	out := local
	askOthers(s, r, recursion, func(m cluster.MemberRef, raw json.RawMessage, err error) {
		var items []T
		if err == nil {
			err = json.Unmarshal(raw, &items)
		}

		if err != nil {
			slog.Warn("cluster member did not list its instances", "member", m.Name, "err", err)
			items = unreachableInstances(r.Context(), s, r, m.Name, unreachable)
		}

		out = append(out, items...)
	})

	return out
}

// askOthers sends the request to every other member, with recursion, at once, and calls each (one at a time) with
// a member's answer or error. It does nothing on a server that is not clustered and for a request from a member.
func askOthers(s *state.State, r *http.Request, recursion int, each func(m cluster.MemberRef, raw json.RawMessage, err error)) {
	if s.Cluster == nil || !s.Cluster.Clustered() || fromMember(r) {
		return
	}

	query := r.URL.Query()
	query.Set("recursion", strconv.Itoa(recursion))
	s.Cluster.AskOthers(r.Context(), r.URL.Path+"?"+query.Encode(), each)
}

// unreachableInstances lists the instances of member, in the request's project, as unreachable makes them.
func unreachableInstances[T any](ctx context.Context, s *state.State, r *http.Request, member string, unreachable func(api.Instance) T) []T {
	insts, err := s.Instances.ListOn(ctx, member)
	if err != nil {
		return nil
	}

	insts = inRequestProject(r, insts, func(inst api.Instance) string { return inst.Project })
	out := make([]T, 0, len(insts))
	for _, inst := range insts {
		out = append(out, unreachable(inst))
	}

	return out
}

// sortInstances orders instances by project and name, as a member lists its own.
func sortInstances[T any](items []T, key func(T) (string, string)) {
	sort.SliceStable(items, func(i, j int) bool {
		pi, ni := key(items[i])
		pj, nj := key(items[j])
		if pi != pj {
			return pi < pj
		}

		return ni < nj
	})
}
