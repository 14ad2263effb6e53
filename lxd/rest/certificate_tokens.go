package rest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// certificateTokenCreate starts a join token: a token operation that stays running until a client joins with its
// secret or the token is revoked. The client builds the token string from the operation's metadata.
func certificateTokenCreate(s *state.State, r *http.Request, req api.CertificatesPost) response.Response {
	if req.Name == "" {
		return response.BadRequest(errNoTokenName)
	}

	existing := s.Ops.Find(func(op *operations.Operation) bool {
		return isJoinToken(op) && op.Status() == api.Running && tokenRequest(op).Name == req.Name
	})
	if existing != nil {
		return response.SmartError(api.StatusErrorf(http.StatusConflict, "a join token for %q already exists", req.Name))
	}

	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	if err != nil {
		return response.InternalError(err)
	}

	req.Password = ""
	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassToken,
		Description: "Executing operation",
		Metadata: map[string]any{
			"request":     req,
			"fingerprint": s.Server.Fingerprint(),
			"addresses":   s.HTTPSAddresses(),
			"secret":      hex.EncodeToString(secret),
		},
		Requestor: nil,
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

var errNoTokenName = api.NewStatusError(http.StatusBadRequest, "a join token needs a client name")

// isJoinToken tells join tokens apart from other token operations (image secrets).
func isJoinToken(op *operations.Operation) bool {
	if op.Class() != api.OperationClassToken {
		return false
	}

	_, ok := op.Metadata()["request"]
	return ok
}

// tokenRequest returns the certificate request a join token was created with.
func tokenRequest(op *operations.Operation) api.CertificatesPost {
	var req api.CertificatesPost
	data, err := json.Marshal(op.Metadata()["request"])
	if err == nil {
		_ = json.Unmarshal(data, &req)
	}

	return req
}

// consumeJoinToken checks a secret offered by an untrusted client against the running join tokens: the secret may be
// the whole token string (base64 JSON, as the stock client sends it) or its bare secret. A matching token is used up;
// the request it was created with is returned.
func consumeJoinToken(s *state.State, offered string) (api.CertificatesPost, bool) {
	secret := offered
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(offered))
	if err == nil {
		var token api.CertificateAddToken
		if json.Unmarshal(data, &token) == nil && token.Secret != "" {
			secret = token.Secret
		}
	}

	op := s.Ops.Find(func(op *operations.Operation) bool {
		return (isJoinToken(op) || isClusterJoinToken(op)) && op.Status() == api.Running && op.MatchSecret(secret)
	})
	if op == nil {
		return api.CertificatesPost{}, false
	}

	// A cluster join token that expired is used up without admitting anyone.
	expired := tokenExpired(op)

	// Done fails when another join consumed the token first: a token admits one client only.
	err = op.Done(nil)
	if err != nil || expired {
		return api.CertificatesPost{}, false
	}

	if isClusterJoinToken(op) {
		// The server that joins is trusted as a server, under its member name.
		name, _ := op.Metadata()["serverName"].(string)
		return api.CertificatesPost{CertificatePut: api.CertificatePut{Type: api.CertificateTypeServer, Name: name}}, true
	}

	return tokenRequest(op), true
}

// tokenExpired reports whether a token operation's expiresAt has passed.
func tokenExpired(op *operations.Operation) bool {
	switch exp := op.Metadata()["expiresAt"].(type) {
	case time.Time:
		return !exp.IsZero() && time.Now().After(exp)
	case string:
		t, err := time.Parse(time.RFC3339Nano, exp)
		return err == nil && time.Now().After(t)
	}

	return false
}
