package rest

import (
	"net/http"

	"github.com/lxd-go/lxd/lxd/metrics"
	"github.com/lxd-go/lxd/lxd/request"
	"github.com/lxd-go/lxd/lxd/response"
	"github.com/lxd-go/lxd/lxd/state"
	"github.com/lxd-go/lxd/shared/api"
)

// metricsContentType is the Prometheus text exposition format.
const metricsContentType = "text/plain; version=0.0.4"

var metricsCmd = Endpoint{
	Path: "metrics",
	Get:  Action{Handler: metricsGet, Access: allowMetrics},
}

// allowMetrics lets in trusted callers and TLS callers whose certificate is in the trust store with the type
// "metrics"; such a certificate is refused by every other endpoint, since it never makes its caller trusted.
func allowMetrics(s *state.State, r *http.Request) response.Response {
	req := request.GetRequestor(r)
	if req.Trusted || (req.Protocol == "tls" && req.CertificateType == api.CertificateTypeMetrics) {
		return nil
	}

	return response.Forbidden(nil)
}

// metricsGet renders the metrics of the running instances, of one project with ?project=.
func metricsGet(s *state.State, r *http.Request) response.Response {
	g := metrics.Gatherer{Root: "/"}
	set, err := g.Collect(r.Context(), s.Instances, s.Instances.Pool().ContainerRootfs)
	if err != nil {
		return response.SmartError(err)
	}

	project := r.FormValue("project")
	if project != "" {
		set = set.Project(project)
	}

	return response.ManualResponse(func(w http.ResponseWriter) error {
		w.Header().Set("Content-Type", metricsContentType)
		w.WriteHeader(http.StatusOK)
		return set.WriteText(w)
	})
}
