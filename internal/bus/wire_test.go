package bus

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/program"
)

func TestFrameWireRoundTrip(t *testing.T) {
	sent := time.Unix(1_800_000_000, 123456789)
	for _, f := range []program.Frame{
		{Seq: 7, PTS: 7 * program.FrameSamples, Capture: time.Unix(1_800_000_000, 42), Packet: []byte{0xf8, 1, 2}},
		{Seq: 1<<64 - 1, PTS: 1 << 40, Packet: bytes.Repeat([]byte{9}, maxPacket)},
		{Seq: 9, End: true},
	} {
		msg := appendFrame(nil, f, sent)
		if len(msg) != 2+bodyHeader+len(f.Packet) {
			t.Fatalf("frame of %d bytes encoded in %d", len(f.Packet), len(msg))
		}
		got, gotSent, err := decodeFrame(msg)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if !sameFrame(got, f) || !gotSent.Equal(sent) {
			t.Fatalf("round trip: %+v sent %v, want %+v sent %v", got, gotSent, f, sent)
		}
	}
}

func TestFrameWireRejectsWhatIsNotAFrame(t *testing.T) {
	good := appendFrame(nil, frame(3), time.Now())
	end := appendFrame(nil, program.Frame{End: true}, time.Now())
	cases := map[string]struct {
		msg  []byte
		want error
	}{
		"empty":             {nil, errShort},
		"foreign text":      {[]byte("hello, onair"), errVersion},
		"next version":      {append([]byte{2}, good[1:]...), errVersion},
		"state kind":        {append([]byte{1, kindState}, good[2:]...), errVersion},
		"cut header":        {good[:20], errShort},
		"unknown flag":      {append(append([]byte{}, good[:2]...), append([]byte{0x80}, good[3:]...)...), errFlags},
		"no packet":         {good[:2+bodyHeader], errPacket},
		"end with a packet": {append(append([]byte{}, end...), 1), errPacket},
		"packet too long":   {append(append([]byte{}, good[:2+bodyHeader]...), make([]byte, maxPacket+1)...), errPacket},
	}
	for name, c := range cases {
		if _, _, err := decodeFrame(c.msg); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
}

func TestStateWireRoundTripAndRejects(t *testing.T) {
	st := State{Head: DefaultHead(), Frames: []program.Frame{frame(1), frame(2), frame(3)}}
	msg := appendState(nil, st)
	got, err := decodeState(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Head, st.Head) || len(got.Frames) != 3 {
		t.Fatalf("state round trip: head %x, %d frames", got.Head, len(got.Frames))
	}
	for i := range got.Frames {
		if !sameFrame(got.Frames[i], st.Frames[i]) {
			t.Fatalf("frame %d: %+v, want %+v", i, got.Frames[i], st.Frames[i])
		}
	}
	empty, err := decodeState(appendState(nil, State{}))
	if err != nil || empty.Head != nil || len(empty.Frames) != 0 {
		t.Fatalf("empty state: %+v %v", empty, err)
	}
	for name, bad := range map[string][]byte{
		"a frame message":      appendFrame(nil, frame(1), time.Now()),
		"cut in a frame":       msg[:len(msg)-3],
		"trailing bytes":       append(append([]byte{}, msg...), 0),
		"head length too long": {1, kindState, 0xff, 0xff, 1},
		"count too large":      {1, kindState, 0, 0, 0xff, 0xff, 0, 1},
	} {
		if _, err := decodeState(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestStateFitsTheMaxPayload(t *testing.T) {
	st := State{Head: DefaultHead()}
	for i := range uint64(100) {
		f := frame(i)
		f.Packet = make([]byte, 1000)
		st.Frames = append(st.Frames, f)
	}
	whole := len(appendState(nil, st))
	if got := fitState(st, whole); len(got.Frames) != 100 {
		t.Fatalf("a state that fits lost frames: %d left", len(got.Frames))
	}
	fit := fitState(st, whole/2)
	if msg := appendState(nil, fit); len(msg) > whole/2 || len(fit.Frames) < 45 || fit.Frames[len(fit.Frames)-1].Seq != 99 {
		t.Fatalf("fitted to %d bytes: %d bytes, %d frames, last %d; want the newest frames within the limit",
			whole/2, len(msg), len(fit.Frames), fit.Frames[len(fit.Frames)-1].Seq)
	}
}

// A malformed or foreign message on a program subject is counted and
// dropped; the subscriber goes on with the next good frame.
func TestNATSDropsForeignMessages(t *testing.T) {
	nodes := startCluster(t, 1)
	b := dial(t, nodes[0])
	space := newSpace()
	c := &collector{}
	defer b.Subscribe(space, c.add)()
	if err := b.Flush(time.Second); err != nil {
		t.Fatal(err)
	}
	for _, junk := range [][]byte{nil, []byte("not a frame"), {2, 1, 0}, appendFrame(nil, frame(1), time.Now())[:9]} {
		if err := b.nc.Publish(programSubject+space, junk); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish(space, frame(0))
	waitFor(t, "the good frame", func() bool { return c.count() == 1 })
	if s := b.Stats(); s.Dropped != 4 || s.Delivered != 1 {
		t.Fatalf("dropped %d, delivered %d; want 4 and 1", s.Dropped, s.Delivered)
	}
	// Nor can a bad space id reach NATS (it would be a wildcard).
	b.Publish("a.>", frame(1))
	if cancel := b.Subscribe("*", c.add); cancel == nil {
		t.Fatal("nil cancel")
	}
	if s := b.Stats(); s.Dropped != 5 || s.Published != 1 {
		t.Fatalf("bad space id: dropped %d published %d", s.Dropped, s.Published)
	}
}

func sameFrame(a, b program.Frame) bool {
	return a.Seq == b.Seq && a.PTS == b.PTS && a.End == b.End && a.Capture.Equal(b.Capture) && bytes.Equal(a.Packet, b.Packet)
}

// Whatever arrives, decoding never panics, and what decodes re-encodes to
// the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, frame(5), time.Unix(1, 2)))
	f.Add(appendFrame(nil, program.Frame{Seq: 3, End: true}, time.Time{}))
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, sent, err := decodeFrame(msg)
		if err != nil {
			return
		}
		if again := appendFrame(nil, fr, sent); !bytes.Equal(again, msg) {
			t.Fatalf("re-encoded %x, was %x", again, msg)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add(appendState(nil, State{Head: DefaultHead(), Frames: []program.Frame{frame(1), frame(2)}}))
	f.Add(appendState(nil, State{}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		st, err := decodeState(msg)
		if err != nil {
			return
		}
		for _, fr := range st.Frames {
			if fr.End == (len(fr.Packet) > 0) || len(fr.Packet) > maxPacket {
				t.Fatalf("decoded an invalid frame %+v", fr)
			}
		}
	})
}
