// Package version holds the version of the daemon and the client.
package version

import (
	"fmt"
	"runtime"
)

// Version is the version of this software.
const Version = "0.1.0"

// APIVersion is the REST API version.
const APIVersion = "1.0"

// UserAgent returns the User-Agent header value sent by the client and by the daemon's downloads.
func UserAgent() string {
	return fmt.Sprintf("LXD %s (%s; %s)", Version, "Linux", runtime.GOARCH)
}
