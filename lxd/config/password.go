package config

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

const (
	passwordScheme     = "pbkdf2-sha512"
	passwordIterations = 210000
	passwordKeyLen     = 64
)

// HashPassword returns the stored form of a trust password: scheme, iterations, salt and derived key.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	_, err := rand.Read(salt)
	if err != nil {
		return "", err
	}

	key, err := pbkdf2.Key(sha512.New, password, salt, passwordIterations, passwordKeyLen)
	if err != nil {
		return "", err
	}

	return fmt.Sprintf("%s$%d$%s$%s", passwordScheme, passwordIterations, hex.EncodeToString(salt), hex.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a stored hash, in constant time.
func CheckPassword(stored string, password string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return false
	}

	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return false
	}

	salt, err := hex.DecodeString(parts[2])
	if err != nil {
		return false
	}

	want, err := hex.DecodeString(parts[3])
	if err != nil {
		return false
	}

	got, err := pbkdf2.Key(sha512.New, password, salt, iter, len(want))
	if err != nil {
		return false
	}

	return subtle.ConstantTimeCompare(got, want) == 1
}
