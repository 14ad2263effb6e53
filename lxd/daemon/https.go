package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/lxd-go/lxd/lxd/config"
	"github.com/lxd-go/lxd/lxd/operations"
	"github.com/lxd-go/lxd/shared/api"
	"github.com/lxd-go/lxd/shared/tlsutil"
)

// httpsListener is the HTTPS server on core.https_address.
type httpsListener struct {
	address string
	server  *http.Server
	bound   net.Addr
}

// setHTTPSAddress moves the HTTPS listener of core.https_address to addr ("" stops it).
func (d *Daemon) setHTTPSAddress(addr string) error {
	return d.setListener(&d.https, addr)
}

// tlsConfig is the TLS configuration of the HTTPS listeners: the server certificate, or the cluster certificate of a
// member, as it is at each handshake.
func (d *Daemon) tlsConfig() *tls.Config {
	cfg := tlsutil.ServerConfig(d.cert.Load())
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return &d.cert.Load().KeyPair, nil
	}

	return cfg
}

// clusterListenAddress is the address of the listener of cluster.https_address: none when core.https_address
// already covers it (the same address, or a wildcard on the same port).
func clusterListenAddress(cfg *config.Config) string {
	addr := cfg.Get(config.ClusterHTTPSAddress)
	core := cfg.Get(config.HTTPSAddress)
	if addr == "" || addr == core {
		return ""
	}

	coreHost, corePort, err1 := net.SplitHostPort(core)
	_, port, err2 := net.SplitHostPort(addr)
	if err1 == nil && err2 == nil && corePort == port && config.WildcardHost(coreHost) {
		return ""
	}

	return addr
}

// applyListeners binds the listeners of core.https_address and cluster.https_address as cfg sets them.
func (d *Daemon) applyListeners(cfg *config.Config) error {
	err := d.setHTTPSAddress(cfg.Get(config.HTTPSAddress))
	if err != nil {
		return err
	}

	return d.setListener(&d.clusterHTTPS, clusterListenAddress(cfg))
}

// setListener moves the HTTPS listener in slot to addr ("" stops it). The new address is bound before the old
// listener closes, so a failure leaves the current listener serving.
func (d *Daemon) setListener(slot **httpsListener, addr string) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	old := *slot
	if old != nil && old.address == addr {
		return nil
	}

	var next *httpsListener
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("cannot listen on %s: %w", addr, err)
		}

		// Callers whose certificate is not trusted get the limits of the guard (see limits.go).
		srv := d.guard.server(d.handler)
		next = &httpsListener{address: addr, server: srv, bound: l.Addr()}
		go func() {
			err := d.guard.serve(srv, l, d.tlsConfig())
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				slog.Error("HTTPS server stopped", "address", addr, "err", err)
			}
		}()

		slog.Info("HTTPS listener started", "address", addr)
	}

	*slot = next
	if old != nil {
		// Requests in flight on the old address get a moment to finish.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if old.server.Shutdown(ctx) != nil {
				_ = old.server.Close()
			}

			slog.Info("HTTPS listener stopped", "address", old.address)
		}()
	}

	return nil
}

// httpsAddresses lists the addresses the HTTPS listener is reachable on; a wildcard address lists every
// address of the host.
func (d *Daemon) httpsAddresses() []string {
	d.mu.Lock()
	l := d.https
	d.mu.Unlock()
	if l == nil {
		return []string{}
	}

	tcp, ok := l.bound.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return []string{l.address}
	}

	port := strconv.Itoa(tcp.Port)
	out := []string{}
	ifaceAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return []string{l.address}
	}

	for _, a := range ifaceAddrs {
		ipNet, ok := a.(*net.IPNet)
		if !ok || ipNet.IP.IsLoopback() || ipNet.IP.IsLinkLocalUnicast() {
			continue
		}

		if tcp.IP.To4() != nil && ipNet.IP.To4() == nil {
			continue
		}

		out = append(out, net.JoinHostPort(ipNet.IP.String(), port))
	}

	return out
}

// newGuard builds the guard of the HTTPS listeners from the daemon's trust store and operations.
func (d *Daemon) newGuard(limits httpLimits) *httpsGuard {
	if limits == (httpLimits{}) {
		limits = defaultHTTPLimits()
	}

	trusted := func(cs *tls.ConnectionState) bool {
		return d.authenticateTLS(cs, "").Trusted
	}

	uploadSecret := func(secret string) bool {
		if secret == "" || d.ops == nil {
			return false
		}

		op := d.ops.Find(func(op *operations.Operation) bool {
			return op.Class() == api.OperationClassToken && op.Status() == api.Running && op.MatchSecret(secret)
		})
		return op != nil
	}

	return newHTTPSGuard(limits, trusted, uploadSecret)
}
