package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"

	"github.com/lxd-go/lxd/lxd/db"
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

// publicSourceImages lists the public images with the files a simplestreams tree offers for them.
func publicSourceImages(ctx context.Context, s *state.State) ([]simplestreams.SourceImage, error) {
	public := true
	var imgs []db.Image
	var aliases []db.ImageAlias
	err := s.DB.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		imgs, err = tx.GetImages(ctx, db.ImageFilter{Public: &public})
		if err != nil {
			return err
		}

		aliases, err = tx.GetImageAliases(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}

	byTarget := map[string][]db.ImageAlias{}
	for _, a := range aliases {
		byTarget[a.Target] = append(byTarget[a.Target], a)
	}

	out := make([]simplestreams.SourceImage, 0, len(imgs))
	for i := range imgs {
		fp := imgs[i].Fingerprint
		src, err := sourceImage(s, fp)
		if err != nil {
			return nil, err
		}

		src.Image = imgs[i].ToAPI(byTarget[fp])
		out = append(out, *src)
	}

	return out, nil
}

// sourceImage describes the files of a stored image as a simplestreams tree offers them.
func sourceImage(s *state.State, fp string) (*simplestreams.SourceImage, error) {
	meta, rootfs, err := s.Images.Paths(fp)
	if err != nil {
		return nil, err
	}

	hashes, err := s.Images.Hashes(fp)
	if err != nil {
		return nil, err
	}

	info, err := os.Stat(meta)
	if err != nil {
		return nil, err
	}

	src := &simplestreams.SourceImage{}
	if rootfs == "" {
		src.Meta = simplestreams.FileInfo{Name: exportName(meta, "", fp), SHA256: hashes.Meta, Size: info.Size()}
		return src, nil
	}

	rootInfo, err := os.Stat(rootfs)
	if err != nil {
		return nil, err
	}

	src.Meta = simplestreams.FileInfo{Name: exportName(meta, "meta-", fp), SHA256: hashes.Meta, Size: info.Size()}
	src.Rootfs = &simplestreams.FileInfo{Name: exportName(rootfs, "", fp), SHA256: hashes.Rootfs, Size: rootInfo.Size()}
	return src, nil
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
	imgs, err := publicSourceImages(r.Context(), s)
	if err != nil {
		return response.SmartError(err)
	}

	index, _ := simplestreams.Build(imgs)
	return writeRawJSON(index)
}

func streamsImagesGet(s *state.State, r *http.Request) response.Response {
	imgs, err := publicSourceImages(r.Context(), s)
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

	var img *db.Image
	err = s.DB.Transaction(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		img, err = tx.GetImage(ctx, fp)
		return err
	})
	if err != nil || !img.Public {
		return response.NotFound(nil)
	}

	src, err := sourceImage(s, fp)
	if err != nil {
		return response.SmartError(err)
	}

	meta, rootfs, err := s.Images.Paths(fp)
	if err != nil {
		return response.SmartError(err)
	}

	path := ""
	switch {
	case name == src.Meta.Name:
		path = meta
	case src.Rootfs != nil && name == src.Rootfs.Name:
		path = rootfs
	default:
		return response.NotFound(nil)
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}

		defer func() { _ = f.Close() }()
		info, err := f.Stat()
		if err != nil {
			return err
		}

		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", info.ModTime(), f)
		return nil
	})
}
