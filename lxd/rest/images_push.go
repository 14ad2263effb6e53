package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lxd-go/lxd/lxd/image"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// Push mode of an image copy: the destination hands out an upload secret (a token operation), and the source server
// uploads the image to it with that secret, as an untrusted caller.

const uploadTokenDescription = "Image upload token"

func randomSecret() (string, error) {
	buf := make([]byte, 32)
	_, err := rand.Read(buf)
	if err != nil {
		return "", err
	}

	return hex.EncodeToString(buf), nil
}

// imagesPostPushToken starts an upload token for an image another server will push here.
func imagesPostPushToken(s *state.State, r *http.Request, req api.ImagesPost) response.Response {
	secret, err := randomSecret()
	if err != nil {
		return response.InternalError(err)
	}

	op, err := s.Ops.Create(operations.Args{
		Class:       api.OperationClassToken,
		Description: uploadTokenDescription,
		Metadata: map[string]any{
			"secret":      secret,
			"fingerprint": req.Source.Fingerprint,
			"aliases":     req.Aliases,
			"properties":  req.Properties,
			"public":      req.Public,
			"expires_at":  req.ExpiresAt,
		},
		Requestor: request.GetRequestor(r),
	})
	if err != nil {
		return response.SmartError(err)
	}

	return operations.Response(op)
}

// pushGrant is what an upload token allows: an upload of that fingerprint, with these properties.
type pushGrant struct {
	Fingerprint string            `json:"fingerprint"`
	Properties  map[string]string `json:"properties"`
	Public      bool              `json:"public"`
}

// usePushToken consumes the upload token whose secret an untrusted uploader presents.
func usePushToken(s *state.State, secret string) (*pushGrant, bool) {
	if secret == "" {
		return nil, false
	}

	op := s.Ops.Find(func(op *operations.Operation) bool {
		return op.Class() == api.OperationClassToken && op.Status() == api.Running &&
			op.Render().Description == uploadTokenDescription && op.MatchSecret(secret)
	})
	if op == nil {
		return nil, false
	}

	var grant pushGrant
	data, err := json.Marshal(op.Metadata())
	if err == nil {
		err = json.Unmarshal(data, &grant)
	}

	if err != nil {
		return nil, false
	}

	// One upload per token: a second one finds it done.
	err = op.Done(nil)
	if err != nil {
		return nil, false
	}

	return &grant, true
}

// imageExportPush pushes a stored image to another server that gave an upload secret.
func imageExportPush(s *state.State, r *http.Request) response.Response {
	img, err := loadImage(s, r)
	if err != nil {
		return response.SmartError(err)
	}

	var req api.ImageExportPost
	err = request.DecodeJSON(r, &req)
	if err != nil {
		return response.SmartError(err)
	}

	_, err = image.ParseWebURL(req.Target)
	if err != nil {
		return response.SmartError(err)
	}

	if req.Secret == "" {
		return response.BadRequest(fmt.Errorf("no upload secret for %s", req.Target))
	}

	fp := img.Fingerprint
	return imageTask(s, r, "Exporting image", []string{image.URL(fp)}, func(ctx context.Context, op *operations.Operation) error {
		return s.Image.Push(fp, req, opProgress(op))
	})
}
