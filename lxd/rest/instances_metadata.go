package rest

import (
	"io"
	"net/http"
	"strconv"

	"github.com/lxd-go/lxd/lxd/instance"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

var instanceMetadataCmd = Endpoint{
	Path:  "instances/{name}/metadata",
	Get:   Action{Handler: instanceMetadataGet, Access: allowTrusted},
	Put:   Action{Handler: instanceMetadataPut, Access: allowTrusted},
	Patch: Action{Handler: instanceMetadataPatch, Access: allowTrusted},
}

var instanceMetadataTemplatesCmd = Endpoint{
	Path:   "instances/{name}/metadata/templates",
	Get:    Action{Handler: instanceMetadataTemplatesGet, Access: allowTrusted},
	Post:   Action{Handler: instanceMetadataTemplatesPut, Access: allowTrusted},
	Put:    Action{Handler: instanceMetadataTemplatesPut, Access: allowTrusted},
	Delete: Action{Handler: instanceMetadataTemplatesDelete, Access: allowTrusted},
}

var (
	containerMetadataCmd          = containerAlias(instanceMetadataCmd)
	containerMetadataTemplatesCmd = containerAlias(instanceMetadataTemplatesCmd)
)

// maxTemplateBody bounds a template upload; the instance manager refuses anything over 1 MiB.
const maxTemplateBody = 1<<20 + 1

func instanceMetadataGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	md, err := s.Instances.Metadata(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	return response.SyncResponseETag(md, md)
}

func instanceMetadataPut(s *state.State, r *http.Request) response.Response {
	return instanceMetadataUpdate(s, r, false)
}

func instanceMetadataPatch(s *state.State, r *http.Request) response.Response {
	return instanceMetadataUpdate(s, r, true)
}

// instanceMetadataUpdate replaces (PUT) or merges (PATCH: the fields sent, properties and templates key by key)
// an instance's metadata.
func instanceMetadataUpdate(s *state.State, r *http.Request, merge bool) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	defer lockUpdate("instance-metadata", name)()

	cur, err := s.Instances.Metadata(r.Context(), name)
	if err != nil {
		return response.SmartError(err)
	}

	resp := checkETag(r, cur)
	if resp != nil {
		return resp
	}

	md := api.ImageMetadata{}
	if merge {
		md = *cur
	}

	err = request.DecodeJSON(r, &md)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.UpdateMetadata(r.Context(), name, md)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "instance-metadata-updated", instance.URL(name), nil)
	return response.EmptySyncResponse
}

// templateName reads the ?path= query parameter naming a template file.
func templateName(r *http.Request) (string, error) {
	file := r.URL.Query().Get("path")
	return file, instance.ValidTemplateName(file)
}

// instanceMetadataTemplatesGet lists the template files, or returns the content of the one ?path= names.
func instanceMetadataTemplatesGet(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	if !r.URL.Query().Has("path") {
		names, err := s.Instances.TemplateNames(r.Context(), name)
		if err != nil {
			return response.SmartError(err)
		}

		return response.SyncResponse(names)
	}

	file, err := templateName(r)
	if err != nil {
		return response.SmartError(err)
	}

	data, err := s.Instances.TemplateFile(r.Context(), name, file)
	if err != nil {
		return response.SmartError(err)
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("Content-Disposition", "attachment; filename="+strconv.Quote(file))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(data)
		return err
	})
}

// instanceMetadataTemplatesPut creates or replaces the template file ?path= names with the request body.
func instanceMetadataTemplatesPut(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	file, err := templateName(r)
	if err != nil {
		return response.SmartError(err)
	}

	data, err := io.ReadAll(io.LimitReader(r.Body, maxTemplateBody))
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.WriteTemplateFile(r.Context(), name, file, data)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "instance-metadata-template-created", instance.URL(name), map[string]any{"path": file})
	return response.EmptySyncResponse
}

// instanceMetadataTemplatesDelete removes the template file ?path= names.
func instanceMetadataTemplatesDelete(s *state.State, r *http.Request) response.Response {
	name, err := instanceName(r)
	if err != nil {
		return response.SmartError(err)
	}

	file, err := templateName(r)
	if err != nil {
		return response.SmartError(err)
	}

	err = s.Instances.DeleteTemplateFile(r.Context(), name, file)
	if err != nil {
		return response.SmartError(err)
	}

	lifecycle(s, r, "instance-metadata-template-deleted", instance.URL(name), map[string]any{"path": file})
	return response.EmptySyncResponse
}
