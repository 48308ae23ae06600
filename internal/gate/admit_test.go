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
