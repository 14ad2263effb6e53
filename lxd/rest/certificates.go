package rest

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

var certificatesCmd = Endpoint{
	Path: "certificates",
	Get:  Action{Handler: certificatesGet, Access: allowTrusted},
	Post: Action{Handler: certificatesPost, AllowUntrusted: true},
}

var certificateCmd = Endpoint{
	Path:   "certificates/{fingerprint}",
	Get:    Action{Handler: certificateGet, Access: allowTrusted},
	Put:    Action{Handler: certificatePut, Access: allowTrusted},
	Patch:  Action{Handler: certificatePatch, Access: allowTrusted},
	Delete: Action{Handler: certificateDelete, Access: allowTrusted},
}

func certificatesGet(s *state.State, r *http.Request) response.Response {
	var certs []db.Certificate
	err := s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		var err error
		certs, err = tx.GetCertificates(ctx)
		return err
	})
	if err != nil {
		return response.SmartError(err)
	}

	if recursion(r) == 0 {
		urls := make([]string, 0, len(certs))
		for _, c := range certs {
			urls = append(urls, "/1.0/certificates/"+c.Fingerprint)
		}

		return response.SyncResponse(urls)
	}

	out := make([]api.Certificate, 0, len(certs))
	for _, c := range certs {
		out = append(out, c.ToAPI())
	}

	return response.SyncResponse(out)
}

// parseCertificate accepts a certificate as PEM or as base64 DER (the form the stock client sends).
func parseCertificate(data string) (*x509.Certificate, error) {
	data = strings.TrimSpace(data)
	if strings.HasPrefix(data, "-----BEGIN") {
		cert, err := tlsutil.ParseCertPEM([]byte(data))
		if err != nil {
			return nil, api.StatusErrorf(http.StatusBadRequest, "invalid certificate: %v", err)
		}

		return cert, nil
	}

	der, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid certificate: neither PEM nor base64 DER")
	}

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, api.StatusErrorf(http.StatusBadRequest, "invalid certificate: %v", err)
	}

	return cert, nil
}

func certPEM(cert *x509.Certificate) string {
	return string(tlsutil.CertPEM(cert))
}

func validateCertificatePut(s *state.State, r *http.Request, put *api.CertificatePut) error {
	if put.Type == "" {
		put.Type = api.CertificateTypeClient
	}

	if put.Type != api.CertificateTypeClient && put.Type != api.CertificateTypeMetrics && put.Type != api.CertificateTypeServer {
		return api.StatusErrorf(http.StatusBadRequest, "invalid certificate type %q", put.Type)
	}

	for _, p := range put.Projects {
		exists, err := projectExists(s, r, p)
		if err != nil {
			return err
		}

		if !exists {
			return api.StatusErrorf(http.StatusBadRequest, "project %q not found", p)
		}
	}

	return nil
}

func certificatesPost(s *state.State, r *http.Request) response.Response {
	var req api.CertificatesPost
	err := request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	err = validateCertificatePut(s, r, &req.CertificatePut)
	if err != nil {
		return response.SmartError(err)
	}

	requestor := request.GetRequestor(r)
	if req.Token {
		if !requestor.Trusted {
			return response.Forbidden(nil)
		}

		return certificateTokenCreate(s, r, req)
	}

	var cert *x509.Certificate
	if requestor.Trusted && req.Certificate != "" {
		cert, err = parseCertificate(req.Certificate)
		if err != nil {
			return response.SmartError(err)
		}
	} else {
		if len(requestor.Certificate) == 0 {
			return response.BadRequest(fmt.Errorf("no client certificate on this connection"))
		}

		cert, err = x509.ParseCertificate(requestor.Certificate)
		if err != nil {
			return response.BadRequest(fmt.Errorf("invalid client certificate: %w", err))
		}
	}

	if !requestor.Trusted {
		// An untrusted caller may only add its own certificate, with the trust password or a join token.
		if req.Certificate != "" {
			given, err := parseCertificate(req.Certificate)
			if err != nil || !given.Equal(cert) {
				return response.Forbidden(nil)
			}
		}

		token, viaToken, ok := authorizeJoin(s, req.Password, tlsutil.FingerprintDER(cert.Raw))
		if !ok {
			return response.Forbidden(nil)
		}

		if viaToken && token.Type == api.CertificateTypeServer {
			// A cluster join token admits the server it names, as a server.
			req.Type, req.Restricted, req.Projects, req.Name = api.CertificateTypeServer, false, nil, token.Name
		} else if viaToken {
			// The token's restriction binds the client that joins with it, whatever that client asks.
			req.Type, req.Restricted, req.Projects = api.CertificateTypeClient, token.Restricted, token.Projects
			if req.Name == "" {
				req.Name = token.Name
			}
		} else if req.Type == api.CertificateTypeServer {
			// Only a cluster join token admits a server.
			return response.Forbidden(nil)
		}
	}

	if req.Name == "" {
		req.Name = cert.Subject.CommonName
	}

	fp := tlsutil.FingerprintDER(cert.Raw)
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateCertificate(ctx, db.Certificate{
			Fingerprint: fp,
			Type:        req.Type,
			Name:        req.Name,
			Certificate: certPEM(cert),
			Restricted:  req.Restricted,
			Projects:    req.Projects,
		})
		return err
	})
	if err != nil {
		return response.SmartError(err)
	}

	err = s.ReloadTrust(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "certificate-created", "/1.0/certificates/"+fp, map[string]any{"name": req.Name})
	return response.SyncResponseLocation(nil, "/1.0/certificates/"+fp)
}

// authorizeJoin checks the secret an untrusted caller offers: the trust password, or a join token. It returns the
// request a token was created with, whether the secret was a token, and whether it was accepted. Untrusted attempts only get here through the HTTPS guard (lxd/daemon/limits.go), which
// holds them to a budget per address and runs them on a few hashing slots: the PBKDF2 below must stay off every
// path a trusted caller takes.
func authorizeJoin(s *state.State, secret string, fingerprint string) (api.CertificatesPost, bool, bool) {
	if secret == "" {
		return api.CertificatesPost{}, false, false
	}

	token, ok := consumeJoinToken(s, secret)
	if ok {
		return token, true, true
	}

	stored := s.Config().Get(config.TrustPassword)
	if stored != "" && config.CheckPassword(stored, secret) {
		return api.CertificatesPost{}, false, true
	}

	return api.CertificatesPost{}, false, false
}

// loadCertificate finds a trusted certificate by fingerprint or unique prefix.
func loadCertificate(ctx context.Context, s *state.State, r *http.Request) (*db.Certificate, error) {
	fp, err := request.PathVar(r, "fingerprint")
	if err != nil {
		return nil, err
	}

	var cert *db.Certificate
	err = s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		cert, err = tx.GetCertificateByPrefix(ctx, fp)
		return err
	})
	if err != nil {
		return nil, err
	}

	return cert, nil
}

func certificateGet(s *state.State, r *http.Request) response.Response {
	cert, err := loadCertificate(r.Context(), s, r)
	if err != nil {
		return response.SmartError(err)
	}

	out := cert.ToAPI()
	return response.SyncResponseETag(out, out.Writable())
}

func certificatePut(s *state.State, r *http.Request) response.Response {
	return certificateUpdate(s, r, false)
}

func certificatePatch(s *state.State, r *http.Request) response.Response {
	return certificateUpdate(s, r, true)
}

// certificateUpdate replaces (PUT) or merges (PATCH) the writable fields of a trusted certificate.
func certificateUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	// Prefixes name certificates too: one lock for all of them.
	defer lockUpdate("certificates", "")()
	cert, err := loadCertificate(r.Context(), s, r)
	if err != nil {
		return response.SmartError(err)
	}

	current := cert.ToAPI()
	resp := checkETag(r, current.Writable())
	if resp != nil {
		return resp
	}

	put := api.CertificatePut{}
	if merge {
		put = current.Writable()
	}

	err = request.DecodeJSON(r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	err = validateCertificatePut(s, r, &put)
	if err != nil {
		return response.SmartError(err)
	}

	updated := *cert
	updated.Name = put.Name
	updated.Type = put.Type
	updated.Restricted = put.Restricted
	updated.Projects = put.Projects
	if put.Certificate != "" {
		newCert, err := parseCertificate(put.Certificate)
		if err != nil {
			return response.SmartError(err)
		}

		updated.Certificate = certPEM(newCert)
		updated.Fingerprint = tlsutil.FingerprintDER(newCert.Raw)
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		return tx.UpdateCertificate(ctx, cert.Fingerprint, updated)
	})
	if err != nil {
		return response.SmartError(err)
	}

	err = s.ReloadTrust(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "certificate-updated", "/1.0/certificates/"+updated.Fingerprint, nil)
	return response.EmptySyncResponse
}

func certificateDelete(s *state.State, r *http.Request) response.Response {
	cert, err := loadCertificate(r.Context(), s, r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		return tx.DeleteCertificate(ctx, cert.Fingerprint)
	})
	if err != nil {
		return response.SmartError(err)
	}

	err = s.ReloadTrust(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "certificate-deleted", "/1.0/certificates/"+cert.Fingerprint, nil)
	return response.EmptySyncResponse
}
