package db

import (
	"fmt"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// fingerprintLen is the length of a hex SHA-256 fingerprint.
const fingerprintLen = 64

// isLowerHex reports whether s is made only of 0-9a-f.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}

	return true
}

// checkFingerprint accepts a full, lowercase hex SHA-256 fingerprint.
func checkFingerprint(kind string, fp string) error {
	if len(fp) != fingerprintLen || !isLowerHex(fp) {
		return fmt.Errorf("%s fingerprint %q is not 64 lowercase hex digits: %w", kind, fp, errs.ErrInvalid)
	}

	return nil
}

// prefixPattern turns a fingerprint prefix into a GLOB pattern. Prefixes are
// matched case-insensitively, as LXD does; ok is false when the prefix is
// empty, too long or not hex, which can match nothing.
func prefixPattern(prefix string) (pattern string, ok bool) {
	prefix = strings.ToLower(prefix)
	if prefix == "" || len(prefix) > fingerprintLen || !isLowerHex(prefix) {
		return "", false
	}

	return prefix + "*", true
}
