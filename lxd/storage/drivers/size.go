package drivers

import (
	"strconv"
	"strings"

	"github.com/lxd-go/lxd/lxd/errs"
)

// ParseSize parses a size such as "512", "256MiB", "5GB" or "2G" into bytes.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"PiB", 1 << 50},
		{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"P", 1 << 50}, {"B", 1},
	} {
		rest, ok := strings.CutSuffix(s, u.suffix)
		if ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}

	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || (mult > 1 && n > (1<<62)/mult) {
		return 0, errs.Invalid("invalid size %q", v)
	}

	return n * mult, nil
}
