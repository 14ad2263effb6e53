// Package config defines the server configuration keys, validates changes to them and renders them for the API.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Key describes one server configuration key.
type Key struct {
	// Default is the value in force when the key is unset.
	Default string

	// Validate checks a new, non-empty value.
	Validate func(value string) error

	// Hidden keys are stored transformed (hashed) and shown as true when set.
	Hidden bool

	// Transform turns a new value into the stored one (hashing a password).
	Transform func(value string) (string, error)
}

// Server configuration keys.
const (
	HTTPSAddress          = "core.https_address"
	ClusterHTTPSAddress   = "cluster.https_address"
	OfflineThreshold      = "cluster.offline_threshold"
	JoinTokenExpiry       = "cluster.join_token_expiry"
	ImagesMinimalReplica  = "cluster.images_minimal_replica"
	TrustPassword         = "core.trust_password"
	AutoUpdateInterval    = "images.auto_update_interval"
	RemoteCacheExpiry     = "images.remote_cache_expiry"
	CompressionAlgorithm  = "images.compression_algorithm"
	AutoUpdateCached      = "images.auto_update_cached"
	DefaultHTTPSPort      = 8443
	defaultCompression    = "gzip"
	defaultUpdateInterval = "6"
)

// BackupsCompressionAlgorithm is the default compression of instance backups.
const BackupsCompressionAlgorithm = "backups.compression_algorithm"

// Compressions are the algorithms images may be compressed with; nothing else is ever run.
var Compressions = []string{"none", "gzip", "bzip2", "xz", "lzma", "zstd"}

// ServerKeys is the schema of the server configuration.
var ServerKeys = map[string]Key{
	HTTPSAddress:         {Validate: validateListenAddress},
	ClusterHTTPSAddress:  {Validate: validateListenAddress},
	OfflineThreshold:     {Default: "20", Validate: validateOfflineThreshold},
	JoinTokenExpiry:      {Default: "3H", Validate: validateExpiry},
	ImagesMinimalReplica: {Default: "3", Validate: validateReplica},
	TrustPassword:        {Hidden: true, Transform: HashPassword},
	AutoUpdateInterval:   {Default: defaultUpdateInterval, Validate: validateUint},
	RemoteCacheExpiry:    {Default: "10", Validate: validateUint},
	CompressionAlgorithm: {Default: defaultCompression, Validate: validateCompression},
	AutoUpdateCached:     {Default: "true", Validate: validateBool},

	BackupsCompressionAlgorithm: {Default: defaultCompression, Validate: validateBackupCompression},
}

// NodeKeys are the keys each cluster member sets for itself, kept in its own database rather than the cluster's.
var NodeKeys = []string{HTTPSAddress, ClusterHTTPSAddress}

// validateOfflineThreshold accepts LXD's range for cluster.offline_threshold: at least 10 seconds.
func validateOfflineThreshold(v string) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 10 {
		return fmt.Errorf("%q is not a number of seconds of at least 10", v)
	}

	return nil
}

// validateReplica accepts LXD's values of cluster.images_minimal_replica: -1 (every member) or at least 1.
func validateReplica(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || (n != -1 && n < 1) {
		return fmt.Errorf("%q is not -1 (every member) or a number of members of at least 1", v)
	}

	return nil
}

func validateUint(v string) error {
	_, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return fmt.Errorf("%q is not a non-negative integer", v)
	}

	return nil
}

func validateBool(v string) error {
	switch strings.ToLower(v) {
	case "true", "false", "1", "0", "yes", "no", "on", "off":
		return nil
	}

	return fmt.Errorf("%q is not a boolean", v)
}

func validateCompression(v string) error {
	for _, c := range Compressions {
		if v == c {
			return nil
		}
	}

	return fmt.Errorf("unsupported compression algorithm %q (supported: %s)", v, strings.Join(Compressions, ", "))
}

// validateBackupCompression accepts the image algorithms but lzma, whose tarballs cannot be recognised at import.
func validateBackupCompression(v string) error {
	if v == "lzma" {
		return fmt.Errorf("unsupported compression algorithm %q for backups (supported: none, gzip, bzip2, xz, zstd)", v)
	}

	return validateCompression(v)
}

// validateListenAddress accepts host, host:port, [ipv6]:port and :port.
func validateListenAddress(v string) error {
	_, err := NormalizeListenAddress(v)
	return err
}

// NormalizeListenAddress adds the default port to a listen address that has none.
func NormalizeListenAddress(v string) (string, error) {
	if v == "" {
		return "", nil
	}

	host, port, err := net.SplitHostPort(v)
	if err != nil {
		// No port: a bare host name, IPv4 or IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
		port = strconv.Itoa(DefaultHTTPSPort)
		if strings.ContainsAny(host, "[]") {
			return "", fmt.Errorf("invalid address %q", v)
		}
	}

	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid port in address %q", v)
	}

	// Binding to a name would need a DNS lookup (and could bind wherever the answer points): only the wildcard,
	// IP literals and localhost are accepted, all checked without a lookup.
	if _, perr := netip.ParseAddr(host); host != "" && host != "localhost" && perr != nil {
		return "", fmt.Errorf("invalid host in address %q: use an IP address, localhost or an empty host for every address", v)
	}

	return net.JoinHostPort(host, port), nil
}

// WildcardHost reports whether the host of a listen address stands for every address of the machine: empty,
// 0.0.0.0 or ::.
func WildcardHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

// invalidError is a refused configuration change: a 400 for the API, errs.ErrInvalid for callers.
type invalidError struct {
	msg string
}

func (e *invalidError) Error() string { return e.msg }

func (e *invalidError) Unwrap() error { return errs.ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Config is a snapshot of the stored server configuration.
type Config struct {
	values map[string]string
}

// New returns a snapshot of the stored values.
func New(values map[string]string) *Config {
	c := &Config{values: map[string]string{}}
	for k, v := range values {
		c.values[k] = v
	}

	return c
}

// Get returns the value of key, or its default.
func (c *Config) Get(key string) string {
	v, ok := c.values[key]
	if ok {
		return v
	}

	return ServerKeys[key].Default
}

// Int returns the value of an integer key.
func (c *Config) Int(key string) int64 {
	n, _ := strconv.ParseInt(c.Get(key), 10, 64)
	return n
}

// Bool returns the value of a boolean key.
func (c *Config) Bool(key string) bool {
	switch strings.ToLower(c.Get(key)) {
	case "true", "1", "yes", "on":
		return true
	}

	return false
}

// Stored returns a copy of the stored values.
func (c *Config) Stored() map[string]string {
	out := make(map[string]string, len(c.values))
	for k, v := range c.values {
		out[k] = v
	}

	return out
}

// Render returns the configuration as the API shows it: set keys only, hidden keys as true.
func (c *Config) Render() map[string]any {
	out := make(map[string]any, len(c.values))
	for k, v := range c.values {
		if ServerKeys[k].Hidden {
			out[k] = true
			continue
		}

		out[k] = v
	}

	return out
}

// Change computes the stored values after applying changes. With replace (PUT), keys absent from changes are
// unset; otherwise (PATCH) they are kept. It returns the new values and the keys whose stored value changed, or an
// error wrapping errs.ErrInvalid naming the first bad key, in which case nothing must be stored.
func (c *Config) Change(changes map[string]any, replace bool) (map[string]string, map[string]string, error) {
	next := map[string]string{}
	if !replace {
		next = c.Stored()
	}

	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}

	sort.Strings(keys)
	for _, key := range keys {
		schema, ok := ServerKeys[key]
		if !ok {
			return nil, nil, invalidf("unknown configuration key %q", key)
		}

		value, keep, err := configValue(schema, changes[key])
		if err != nil {
			return nil, nil, invalidf("invalid value for %q: %v", key, err)
		}

		if keep {
			old, set := c.values[key]
			if set {
				next[key] = old
			}

			continue
		}

		if value == "" {
			delete(next, key)
			continue
		}

		if schema.Validate != nil {
			err = schema.Validate(value)
			if err != nil {
				return nil, nil, invalidf("invalid value for %q: %v", key, err)
			}
		}

		if schema.Transform != nil {
			value, err = schema.Transform(value)
			if err != nil {
				return nil, nil, err
			}
		}

		if key == HTTPSAddress || key == ClusterHTTPSAddress {
			value, _ = NormalizeListenAddress(value)
		}

		next[key] = value
	}

	changed := map[string]string{}
	for k, v := range next {
		if c.values[k] != v {
			changed[k] = v
		}
	}

	for k := range c.values {
		_, ok := next[k]
		if !ok {
			changed[k] = ""
		}
	}

	return next, changed, nil
}

// configValue converts an API value to its string form. A hidden key given back as true (as GET shows it) is kept.
func configValue(schema Key, v any) (string, bool, error) {
	switch val := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return val, false, nil
	case bool:
		if schema.Hidden && val {
			return "", true, nil
		}

		return strconv.FormatBool(val), false, nil
	case float64:
		if val != float64(int64(val)) {
			return "", false, fmt.Errorf("%v is not an integer", val)
		}

		return strconv.FormatInt(int64(val), 10), false, nil
	}

	return "", false, fmt.Errorf("unsupported value type %T", v)
}
