package gate

import (
	"testing"
	"time"
)

// A full node lets nobody more in, not even the admissions it banked while
// nobody waited; once not full, the line moves on from where it stood.
func TestPauseWithdrawsTheBank(t *testing.T) {
	a := NewAdmission(AdmitConfig{StartRate: 10, MinRate: 10, MaxRate: 10, Burst: 5}, t0)
	if tk := a.Join(t0.Add(time.Second)); tk.Position != 0 {
		t.Fatalf("the first after a quiet second: %+v", tk)
	}
	a.Pause(true)
	if tk := a.Join(t0.Add(2 * time.Second)); tk.Position == 0 {
		t.Fatal("a full node admitted from its bank")
	}
	a.Pause(false)
	if tk := a.Check(1, t0.Add(2*time.Second+200*time.Millisecond)); tk.Position != 0 {
		t.Fatalf("not admitted 0.2 s after the node had room at 10/s: %+v", tk)
	}
}

// --admit-rate-max holds from the first second: a node capped below the
// default start rate and floor starts at its cap and, overloaded, never
// climbs back over it.
func TestMaxRateBoundsStartAndFloor(t *testing.T) {
	a := NewAdmission(AdmitConfig{MaxRate: 10}, t0)
	if r := a.Rate(); r != 10 {
		t.Fatalf("capped at 10/s, started at %v/s", r)
	}
	for range 5 {
		a.Feedback(false)
		if r := a.Rate(); r > 10 {
			t.Fatalf("overloaded, the rate went to %v/s, over its cap of 10", r)
		}
	}
	a.Feedback(true)
	if r := a.Rate(); r > 10 {
		t.Fatalf("healthy again, %v/s, over its cap", r)
	}
}
