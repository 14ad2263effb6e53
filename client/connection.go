package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lxd-go/lxd/shared/tlsutil"
)

// ConnectLXDUnix connects to a server's local unix socket.
func ConnectLXDUnix(path string, args *ConnectionArgs) (InstanceServer, error) {
	if args == nil {
		args = &ConnectionArgs{}
	}

	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}

	transport := &http.Transport{DialContext: dial, DisableKeepAlives: false, MaxIdleConnsPerHost: 4}
	c := &ProtocolLXD{
		httpBaseURL: &url.URL{Scheme: "http", Host: "unix.socket"},
		httpClient:  &http.Client{Transport: transport},
		socketPath:  path,
		userAgent:   args.UserAgent,
		dialWS:      func(ctx context.Context) (net.Conn, error) { return dial(ctx, "", "") },
	}

	if !args.SkipGetServer {
		_, _, err := c.GetServer()
		if err != nil {
			return nil, err
		}
	}

	return c, nil
}

// ConnectLXD connects to a server over HTTPS.
func ConnectLXD(rawURL string, args *ConnectionArgs) (InstanceServer, error) {
	c, err := newHTTPS(rawURL, args)
	if err != nil {
		return nil, err
	}

	if !args.SkipGetServer {
		_, _, err := c.GetServer()
		if err != nil {
			return nil, err
		}
	}

	return c, nil
}

func newHTTPS(rawURL string, args *ConnectionArgs) (*ProtocolLXD, error) {
	if args == nil {
		args = &ConnectionArgs{}
	}

	u, err := url.Parse(strings.TrimSuffix(rawURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}

	if u.Scheme != "https" {
		return nil, fmt.Errorf("invalid URL %q: only https:// is supported", rawURL)
	}

	var clientCert *tlsutil.CertInfo
	if args.TLSClientCert != "" && args.TLSClientKey != "" {
		pair, err := tls.X509KeyPair([]byte(args.TLSClientCert), []byte(args.TLSClientKey))
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}

		clientCert = &tlsutil.CertInfo{KeyPair: pair, PEM: []byte(args.TLSClientCert)}
	}

	tlsConfig, err := tlsutil.ClientConfig(clientCert, []byte(args.TLSServerCert))
	if err != nil {
		return nil, err
	}

	transport := &http.Transport{
		TLSClientConfig:     tlsConfig,
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
	}

	return &ProtocolLXD{
		httpBaseURL: u,
		httpClient:  &http.Client{Transport: transport},
		tlsConfig:   tlsConfig,
		userAgent:   args.UserAgent,
		serverCert:  args.TLSServerCert,
	}, nil
}
