package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

type fakeComponent struct{}

func (fakeComponent) Connected() bool          { return true }
func (fakeComponent) Reconnects() uint64       { return 1 }
func (fakeComponent) InFlight() int            { return 0 }
func (fakeComponent) Malformed() uint64        { return 3 }
func (fakeComponent) Ignored() uint64          { return 4 }
func (fakeComponent) UnmatchedReplies() uint64 { return 2 }

type fakeRooms struct{}

func (fakeRooms) Rooms() int      { return 0 }
func (fakeRooms) Entries() uint64 { return 0 }

// TestComponentCounters: the component's counters are exposed under their
// documented names.
func TestComponentCounters(t *testing.T) {
	rr := httptest.NewRecorder()
	New(fakeComponent{}, fakeRooms{}).Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rr.Body)
	for _, want := range []string{
		"\nmuc_kick_component_reconnects_total 1\n",
		"\nmuc_kick_stanzas_dropped_total 3\n",
		"\nmuc_kick_stanzas_ignored_total 4\n",
		"\nmuc_kick_unmatched_replies_total 2\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in\n%s", strings.TrimSpace(want), body)
		}
	}
}
