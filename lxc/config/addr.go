package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPort is the port of an HTTPS remote given without one.
const DefaultPort = "8443"

// NormalizeRemoteAddr turns what a user types for an LXD remote into its URL: "host" and "host:port" become
// "https://host:8443" and "https://host:port", IPv6 addresses get brackets, and an https:// URL keeps only its
// host and port. unix:// addresses are returned unchanged.
func NormalizeRemoteAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", errors.New("empty remote address")
	}

	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return "", fmt.Errorf("invalid URL %q: %w", addr, err)
		}

		switch u.Scheme {
		case "unix":
			return addr, nil
		case "https":
		default:
			return "", fmt.Errorf("invalid URL scheme %q in %q", u.Scheme, addr)
		}

		if u.Hostname() == "" {
			return "", fmt.Errorf("invalid URL %q: no host", addr)
		}

		port := u.Port()
		if port == "" {
			port = DefaultPort
		}

		return hostPortURL(u.Hostname(), port, addr)
	}

	// A bare IPv6 address has colons but no port.
	ip := net.ParseIP(strings.Trim(addr, "[]"))
	if ip != nil {
		return hostPortURL(ip.String(), DefaultPort, addr)
	}

	if !strings.Contains(addr, ":") {
		return hostPortURL(addr, DefaultPort, addr)
	}

	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: %w", addr, err)
	}

	return hostPortURL(host, port, addr)
}

func hostPortURL(host string, port string, orig string) (string, error) {
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return "", fmt.Errorf("invalid address %q: bad host", orig)
	}

	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid address %q: bad port %q", orig, port)
	}

	return "https://" + net.JoinHostPort(host, port), nil
}

// ValidateRemoteName checks that name can be used for a remote (and as a file name in servercerts/).
func ValidateRemoteName(name string) error {
	switch {
	case name == "":
		return errors.New("remote names may not be empty")
	case strings.Contains(name, ":"):
		return errors.New("remote names may not contain colons")
	case strings.ContainsAny(name, "/\\") || name == "." || name == "..":
		return errors.New("remote names may not contain slashes")
	}

	return nil
}
