package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
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

// GetServerCertificate fetches the certificate an HTTPS server presents, without verifying it and without presenting
// a client certificate, so that a user can decide whether to pin it. It sends GET / as the stock client does.
func GetServerCertificate(rawURL string, userAgent string) (*x509.Certificate, error) {
	u, err := url.Parse(strings.TrimSuffix(rawURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", rawURL, err)
	}

	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid URL %q: only https:// is supported", rawURL)
	}

	transport := &http.Transport{
		// The certificate is what is being fetched: there is nothing to verify it against yet.
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true},
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
	}

	defer transport.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, u.Scheme+"://"+u.Host+"/", nil)
	if err != nil {
		return nil, err
	}

	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}

	httpClient := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}

	_ = resp.Body.Close()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, errors.New("server presented no certificate")
	}

	return resp.TLS.PeerCertificates[0], nil
}
