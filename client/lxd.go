package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/lxd-go/lxd/shared/api"
)

// ProtocolLXD is a connection to a server speaking the REST API.
type ProtocolLXD struct {
	httpBaseURL *url.URL
	httpClient  *http.Client
	tlsConfig   *tls.Config
	socketPath  string
	userAgent   string
	serverCert  string

	// dialWS dials the raw connection websockets use on the unix socket.
	dialWS func(ctx context.Context) (net.Conn, error)

	server *api.Server

	// project is sent as ?project= on every request to the API but the raw ones ("": none, the server's default).
	project string

	// target is sent as ?target= on every request to the API but the raw ones: the cluster member that is to
	// serve them ("": the one the server picks).
	target string
}

// UseTarget returns a connection to the same server, sharing this one's transport, whose requests name the
// cluster member name as the one to serve them (?target=, as LXD's client sends it).
func (c *ProtocolLXD) UseTarget(name string) InstanceServer {
	next := *c
	next.target = name
	return &next
}

// UseProject returns a connection to the same server, sharing this one's transport, whose requests name the
// project name ("" names none, so the server uses its default project).
func (c *ProtocolLXD) UseProject(name string) InstanceServer {
	next := *c
	next.project = name
	return &next
}

// withProject adds the connection's project and target member to an API path (which may carry a query already),
// unless the path names them itself.
func (c *ProtocolLXD) withProject(path string) string {
	for _, p := range [][2]string{{"project", c.project}, {"target", c.target}} {
		if p[1] == "" {
			continue
		}

		_, query, hasQuery := strings.Cut(path, "?")
		values, _ := url.ParseQuery(query)
		switch {
		case values.Has(p[0]):
		case hasQuery:
			path += "&" + p[0] + "=" + url.QueryEscape(p[1])
		default:
			path += "?" + p[0] + "=" + url.QueryEscape(p[1])
		}
	}

	return path
}

// GetConnectionInfo describes the connection.
func (c *ProtocolLXD) GetConnectionInfo() (*ConnectionInfo, error) {
	return &ConnectionInfo{
		URL:         c.httpBaseURL.String(),
		SocketPath:  c.socketPath,
		Protocol:    "lxd",
		Certificate: c.serverCert,
	}, nil
}

// GetHTTPClient returns the HTTP client of the connection.
func (c *ProtocolLXD) GetHTTPClient() (*http.Client, error) {
	return c.httpClient, nil
}

// Disconnect closes idle connections.
func (c *ProtocolLXD) Disconnect() {
	c.httpClient.CloseIdleConnections()
}

// url returns the full URL of an API path ("/1.0/..." or "/..."), in the connection's project.
func (c *ProtocolLXD) url(path string) string {
	return c.rawURL(c.withProject(path))
}

// rawURL returns the full URL of an API path as given.
func (c *ProtocolLXD) rawURL(path string) string {
	return strings.TrimSuffix(c.httpBaseURL.String(), "/") + path
}

// parseResponse decodes the envelope and turns error envelopes into api.StatusError.
func parseResponse(resp *http.Response) (*api.ResponseRaw, string, error) {
	etag := strings.Trim(resp.Header.Get("ETag"), `"`)
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, "", err
	}

	var raw api.ResponseRaw
	err = json.Unmarshal(body, &raw)
	if err != nil {
		if resp.StatusCode >= 400 {
			return nil, "", api.StatusErrorf(resp.StatusCode, "%s", strings.TrimSpace(http.StatusText(resp.StatusCode)))
		}

		return nil, "", fmt.Errorf("invalid response from server (HTTP %d): %w", resp.StatusCode, err)
	}

	if raw.Type == api.ErrorResponse {
		code := raw.Code
		if code == 0 {
			code = resp.StatusCode
		}

		return nil, "", api.NewStatusError(code, raw.Error)
	}

	if resp.StatusCode >= 400 {
		return nil, "", api.StatusErrorf(resp.StatusCode, "%s", http.StatusText(resp.StatusCode))
	}

	return &raw, etag, nil
}

// rawQuery sends a request to a full URL and decodes the envelope.
func (c *ProtocolLXD) rawQuery(method string, fullURL string, data any, etag string) (*api.ResponseRaw, string, error) {
	var body io.Reader
	switch v := data.(type) {
	case nil:
	case io.Reader:
		body = v
	default:
		buf, err := json.Marshal(v)
		if err != nil {
			return nil, "", err
		}

		body = bytes.NewReader(buf)
	}

	req, err := http.NewRequest(method, fullURL, body)
	if err != nil {
		return nil, "", err
	}

	if data != nil {
		_, isReader := data.(io.Reader)
		if !isReader {
			req.Header.Set("Content-Type", "application/json")
		}
	}

	if etag != "" {
		req.Header.Set("If-Match", fmt.Sprintf("%q", etag))
	}

	return c.doParse(req)
}

func (c *ProtocolLXD) do(req *http.Request) (*http.Response, error) {
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	return c.httpClient.Do(req)
}

func (c *ProtocolLXD) doParse(req *http.Request) (*api.ResponseRaw, string, error) {
	resp, err := c.do(req)
	if err != nil {
		return nil, "", err
	}

	defer func() { _ = resp.Body.Close() }()
	return parseResponse(resp)
}

// RawQuery sends a request to an API path ("/1.0/...") as given, without the connection's project, and decodes
// the envelope.
func (c *ProtocolLXD) RawQuery(method string, path string, data any, etag string) (*api.ResponseRaw, string, error) {
	return c.rawQuery(method, c.rawURL(path), data, etag)
}

// query sends a request to a path under /1.0.
func (c *ProtocolLXD) query(method string, path string, data any, etag string) (*api.ResponseRaw, string, error) {
	return c.rawQuery(method, c.url("/1.0"+path), data, etag)
}

// queryStruct sends a request under /1.0 and decodes the metadata into target.
func (c *ProtocolLXD) queryStruct(method string, path string, data any, etag string, target any) (string, error) {
	resp, etag, err := c.query(method, path, data, etag)
	if err != nil {
		return "", err
	}

	if target != nil {
		err = resp.MetadataAsStruct(target)
		if err != nil {
			return "", fmt.Errorf("decode response: %w", err)
		}
	}

	return etag, nil
}
