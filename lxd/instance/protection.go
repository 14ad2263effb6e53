package instance

import (
	"github.com/lxd-go/lxd/lxd/errs"
)

// Protection keys: security.protection.delete refuses deleting the instance, security.protection.shift refuses
// shifting its root filesystem to another id map.
const (
	KeyProtectionDelete = "security.protection.delete"
	KeyProtectionShift  = "security.protection.shift"
)

// Errors of the protection keys, worded as LXD words them.
const (
	msgProtectedDelete = "Container is protected"
	msgProtectedShift  = "Container is protected against filesystem shifting"
)

// checkDeleteProtection refuses deleting an instance with the expanded configuration while
// security.protection.delete is true. An ephemeral instance that stopped is deleted all the same, as LXD does.
func checkDeleteProtection(expanded map[string]string, ephemeralExit bool) error {
	if ephemeralExit || !IsTrue(expanded[KeyProtectionDelete]) {
		return nil
	}

	return errs.Invalid(msgProtectedDelete)
}

// checkShiftProtection refuses moving the root filesystem of an instance with the expanded configuration from the
// map disk to the map next while security.protection.shift is true.
func checkShiftProtection(expanded map[string]string, disk *IDMap, next *IDMap) error {
	if !IsTrue(expanded[KeyProtectionShift]) || disk.Equal(next) {
		return nil
	}

	return errs.Invalid(msgProtectedShift)
}
