package rest

import (
	"strings"
	"testing"

	"github.com/lxd-go/lxd/shared/api"
)

// TestStateChangeStateful checks stateful changes as LXD answers them without CRIU: a stateful stop is refused, a
// stateful start finds no state to restore, the other actions ignore stateful.
func TestStateChangeStateful(t *testing.T) {
	for _, tc := range []struct {
		action string
		want   string
	}{
		{action: "stop", want: "unable to perform container live migration"},
		{action: "start", want: "no existing state to restore"},
		{action: "restart"},
		{action: "freeze"},
		{action: "unfreeze"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			_, lifecycle, err := stateChange(api.InstanceStatePut{Action: tc.action, Stateful: true, Timeout: -1})
			if tc.want == "" {
				if err != nil || lifecycle == "" {
					t.Fatalf("got %q %v, want the action", lifecycle, err)
				}

				return
			}

			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}

			_, _, err = stateChange(api.InstanceStatePut{Action: tc.action, Timeout: -1})
			if err != nil {
				t.Fatalf("got %v without stateful", err)
			}
		})
	}
}
