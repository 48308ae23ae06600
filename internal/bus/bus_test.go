package bus

import (
	"testing"

	"github.com/onair-live/onair/internal/program"
)

func TestLocalDeliversInOrderPerSpace(t *testing.T) {
	b := NewLocal()
	var a, c []uint64
	cancelA := b.Subscribe("a", func(f program.Frame) { a = append(a, f.Seq) })
	b.Subscribe("c", func(f program.Frame) { c = append(c, f.Seq) })
	for i := range 3 {
		b.Publish("a", program.Frame{Seq: uint64(i)})
	}
	b.Publish("c", program.Frame{Seq: 9})
	cancelA()
	cancelA()
	b.Publish("a", program.Frame{Seq: 3})
	if len(a) != 3 || a[0] != 0 || a[2] != 2 || len(c) != 1 || c[0] != 9 {
		t.Fatalf("a=%v c=%v", a, c)
	}
}
