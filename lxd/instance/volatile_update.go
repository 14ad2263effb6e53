package instance

import (
	"fmt"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// Volatile keys in an update. LXD 5.0.2 stores whatever volatile keys a PUT or PATCH gives, checking only that
// each is a key it knows, and "lxc copy --refresh" relies on it: the stock client ends a refresh by putting the
// source's configuration, volatile keys included, on the copy. This daemon accepts such a request, but only the
// keys that describe the instance are taken from it; the keys that record the daemon's own state of the instance
// stay as they are, whatever the request says:
//
//   - taken: volatile.uuid and volatile.cloud-init.instance-id (UUIDs), volatile.base_image,
//     volatile.apply_template, and the MAC address of a nic (volatile.<device>.hwaddr) while the instance is stopped;
//     an empty value removes the key.
//   - kept: the id map keys (volatile.idmap.*, volatile.last_state.idmap), which record the host ids the
//     instance holds and how its root filesystem is shifted (another server's values would let it run on ids
//     that are not its own), volatile.last_state.power, and the other keys of its devices (a running nic's
//     host-side name, a MAC address while it runs).
//   - refused: any other volatile key, as LXD refuses a volatile key it does not know.
//
// A request that leaves a volatile key out keeps it (the id map keys LXD refuses to delete, the others harmlessly).

// takenVolatileKeys are the volatile keys an update may set, with their checks.
var takenVolatileKeys = map[string]func(string) error{
	KeyUUID:                           checkUUID,
	"volatile.cloud-init.instance-id": checkUUID,
	KeyBaseImage:                      checkAny,
	KeyApplyTemplate:                  checkAny,
}

// keptVolatileKeys are the volatile keys outside devices that an update leaves as they are.
var keptVolatileKeys = map[string]bool{
	KeyIdmapBase:      true,
	KeyIdmapNext:      true,
	KeyIdmapCurrent:   true,
	KeyLastIdmap:      true,
	KeyLastStatePower: true,
}

// volatileTopLevel are the first parts of the keys above: a volatile key starting with none of them belongs to a
// device (volatile.<device>.<key>).
var volatileTopLevel = map[string]bool{"uuid": true, "cloud-init": true, "base_image": true,
	"apply_template": true, "idmap": true, "last_state": true}

// updateVolatile returns the volatile keys an instance has after an update whose configuration is requested, given
// the ones it has (current) and whether it runs.
func updateVolatile(current map[string]string, requested map[string]string, running bool) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range current {
		if strings.HasPrefix(k, "volatile.") {
			out[k] = v
		}
	}

	for k, v := range requested {
		if !strings.HasPrefix(k, "volatile.") || current[k] == v {
			continue
		}

		take, err := volatileTaken(k, v, running)
		if err != nil {
			return nil, err
		}

		if !take {
			continue
		}

		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}

	return out, nil
}

// volatileTaken tells whether an update takes the value v of the volatile key k (false: the daemon's value stays),
// or refuses it.
func volatileTaken(k string, v string, running bool) (bool, error) {
	check, ok := takenVolatileKeys[k]
	if ok {
		if v == "" {
			return true, nil
		}

		err := check(v)
		if err != nil {
			return false, fmt.Errorf("invalid value for %q: %w: %w", k, err, errs.ErrInvalid)
		}

		return true, nil
	}

	if keptVolatileKeys[k] {
		return false, nil
	}

	rest := strings.TrimPrefix(k, "volatile.")
	device, sub, ok := strings.Cut(rest, ".")
	if !ok || device == "" || sub == "" || volatileTopLevel[device] {
		return false, errs.Invalid("unknown configuration key %q", k)
	}

	if sub != "hwaddr" || running {
		return false, nil
	}

	if v != "" {
		err := checkMAC(v)
		if err != nil {
			return false, fmt.Errorf("invalid value for %q: %w: %w", k, err, errs.ErrInvalid)
		}
	}

	return true, nil
}

// checkUUID accepts a UUID in its text form (8-4-4-4-12 hexadecimal digits).
func checkUUID(v string) error {
	parts := strings.Split(v, "-")
	lengths := []int{8, 4, 4, 4, 12}
	if len(parts) != len(lengths) {
		return fmt.Errorf("invalid UUID")
	}

	for i, p := range parts {
		if len(p) != lengths[i] || strings.Trim(strings.ToLower(p), "0123456789abcdef") != "" {
			return fmt.Errorf("invalid UUID")
		}
	}

	return nil
}
