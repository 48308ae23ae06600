package fanout

import (
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/telemetry"
)

// Stats is what a hub's listeners got and cost, counted as it happens for
// the node's receipts: atomic adds, per pass where a writer can, never per
// page per listener.
type Stats struct {
	OggArrived, OggDeparted atomic.Int64
	HLSArrived, HLSDeparted atomic.Int64
	Bytes, Cut, Skipped     atomic.Int64
	HLSBytes                atomic.Int64 // counted by the server's HLS handlers
	// Lag is the age of the newest audio in each write that moved bytes
	// (now minus the capture time of the last whole page sent).
	Lag telemetry.Hist
	// Left receives how long each listener who left had listened.
	Left func(time.Duration)
}

// Stats returns the hub's counters.
func (h *Hub) Stats() *Stats { return h.stats }

func (st *Stats) left(d time.Duration) {
	if st.Left != nil {
		st.Left(d)
	}
}
