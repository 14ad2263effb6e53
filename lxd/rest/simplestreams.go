package rest

import (
	"encoding/json"
	"net/http"

	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/simplestreams"
)

// streamsEndpoints publish the public images as a simplestreams tree, at the root of the HTTPS listener, so that any
// simplestreams client (the stock "lxc remote add x URL --protocol simplestreams") can list and pull them.
var streamsEndpoints = []Endpoint{
	{Path: "/streams/v1/index.json", Get: Action{Handler: streamsIndexGet, AllowUntrusted: true}},
	{Path: "/streams/v1/images.json", Get: Action{Handler: streamsImagesGet, AllowUntrusted: true}},
	{Path: "/images/{fingerprint}/{file}", Get: Action{Handler: streamsFileGet, AllowUntrusted: true}},
}

func writeRawJSON(v any) response.Response {
	return response.ManualResponse(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func streamsIndexGet(s *state.State, r *http.Request) response.Response {
	imgs, err := s.Image.PublicSourceImages(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	index, _ := simplestreams.Build(imgs)
	return writeRawJSON(index)
}

func streamsImagesGet(s *state.State, r *http.Request) response.Response {
	imgs, err := s.Image.PublicSourceImages(r.Context())
	if err != nil {
		return response.SmartError(err)
	}

	_, products := simplestreams.Build(imgs)
	return writeRawJSON(products)
}

// streamsFileGet serves a file of a public image under the name the tree lists it by.
func streamsFileGet(s *state.State, r *http.Request) response.Response {
	fp, err := request.PathVar(r, "fingerprint")
	if err != nil {
		return response.SmartError(err)
	}

	name, err := request.PathVar(r, "file")
	if err != nil {
		return response.SmartError(err)
	}

	path, err := s.Image.PublicFile(r.Context(), fp, name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.FileResponse([]response.FileEntry{{Path: path}}, nil)
}
