package bus

import (
	"fmt"
	"testing"

	"github.com/onair-live/onair/internal/program"
)

func TestHistoryKeepsTheLastFramesOfTheCurrentShow(t *testing.T) {
	h := newHistory(3)
	if !h.add("a", frame(0)) || h.add("a", frame(1)) {
		t.Fatal("first is the space's first frame held, and only it")
	}
	for i := uint64(2); i < 7; i++ {
		h.add("a", frame(i))
	}
	if got := seqs(h.snapshot("a")); got != "4 5 6 " {
		t.Fatalf("held %q, want the last three", got)
	}
	// A new show (seq back to 0 without an End seen) starts afresh.
	h.add("a", frame(0))
	if got := seqs(h.snapshot("a")); got != "0 " {
		t.Fatalf("after a restart held %q", got)
	}
	h.add("a", frame(1))
	h.add("a", program.Frame{Seq: 2, End: true})
	if h.snapshot("a") != nil || len(h.spaces) != 0 {
		t.Fatal("an ended show is still held")
	}
	if none := newHistory(-1); none.add("a", frame(0)) || none.snapshot("a") != nil {
		t.Fatal("a history keeping nothing held a frame")
	}
}

func seqs(fs []program.Frame) string {
	var s string
	for _, f := range fs {
		s += fmt.Sprint(f.Seq, " ")
	}
	return s
}
