package main

import (
	"math"
	"testing"

	"github.com/onair-live/onair/internal/load"
)

func TestJoinRateAndFullLoad(t *testing.T) {
	// 1,000 listeners a second for 4 s, all in by 4 s, then 3 s at full load
	// with the server spending 0.1 s of CPU a second.
	tl := []load.TimelinePoint{{}}
	for s := 1; s <= 7; s++ {
		n := int64(min(s, 4) * 1000)
		tl = append(tl, load.TimelinePoint{T: float64(s), GotAudio: n, Connected: n, ServerCPUS: 0.1 * float64(s), ServerRSSKiB: 1})
	}
	if r := joinRate(tl); math.Abs(r-1000) > 1 {
		t.Errorf("join rate %.1f, want 1000", r)
	}
	ls, cpu, secs := fullLoad(tl)
	if ls != 12000 || math.Abs(cpu-0.3) > 1e-9 || secs != 3 {
		t.Errorf("full load: %v listener-s, %v s CPU over %v s; want 12000, 0.3, 3", ls, cpu, secs)
	}
	if joinRate(nil) != 0 || joinRate([]load.TimelinePoint{{}, {T: 1}}) != 0 {
		t.Error("no audio: want a rate of 0")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 19000: "19,000", 1234567: "1,234,567", -5000: "-5,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
