package ring

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// follow reads r from cursor 0 until it is closed, collecting every item and
// the total skipped. It waits on Wait between reads, as a listener does.
func follow(t testing.TB, r *Ring[int], max int) (items []int, skipped uint64) {
	var cursor uint64
	buf := make([]int, 0, max)
	timeout := time.After(20 * time.Second)
	for {
		rd := r.ReadFrom(cursor, buf[:0], max)
		if rd.Next < cursor {
			t.Errorf("cursor went back: %d -> %d", cursor, rd.Next)
			return
		}
		if got := rd.Next - cursor - rd.Skipped; got != uint64(len(rd.Items)) {
			t.Errorf("cursor moved %d with %d skipped but %d items", rd.Next-cursor, rd.Skipped, len(rd.Items))
			return
		}
		cursor = rd.Next
		skipped += rd.Skipped
		items = append(items, rd.Items...)
		if rd.Closed {
			return items, skipped
		}
		if len(rd.Items) > 0 {
			continue
		}
		select {
		case <-rd.Wait:
		case <-timeout:
			t.Errorf("reader never saw Closed (cursor %d)", cursor)
			return
		}
	}
}

func TestReadersSeeEveryItemInOrder(t *testing.T) {
	r := New[int](64)
	const n = 10000
	const readers = 8
	var wg sync.WaitGroup
	results := make([][]int, readers)
	skips := make([]uint64, readers)
	// The writer waits for every reader before each append that would
	// overwrite an unread item, so nobody may skip: every reader must see
	// every item, in order.
	var progress [readers]atomic.Uint64
	for i := range readers {
		wg.Go(func() {
			var cursor uint64
			for {
				rd := r.ReadFrom(cursor, nil, 1+i) // different batch sizes
				cursor = rd.Next
				skips[i] += rd.Skipped
				results[i] = append(results[i], rd.Items...)
				progress[i].Store(cursor)
				if rd.Closed {
					return
				}
				if len(rd.Items) == 0 {
					<-rd.Wait
				}
			}
		})
	}
	for v := range n {
		for i := range readers {
			for uint64(v)-progress[i].Load() >= 64 && uint64(v) >= 64 {
				runtime.Gosched()
			}
		}
		r.Append(v)
	}
	r.Close()
	wg.Wait()
	for i, got := range results {
		if skips[i] != 0 {
			t.Fatalf("reader %d skipped %d", i, skips[i])
		}
		if len(got) != n {
			t.Fatalf("reader %d got %d items, want %d", i, len(got), n)
		}
		for j, v := range got {
			if v != j {
				t.Fatalf("reader %d item %d = %d", i, j, v)
			}
		}
	}
}

func TestSlowReaderSkipsForwardAndNeverBlocksWriter(t *testing.T) {
	r := New[int](10)
	// A reader that has read nothing holds cursor 0. The writer appends far
	// past the ring without waiting for it.
	done := make(chan struct{})
	go func() {
		for v := range 1000 {
			r.Append(v)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writer blocked by a reader that does not read")
	}
	if h, o := r.Head(), r.Oldest(); h != 1000 || o != 990 {
		t.Fatalf("head %d oldest %d, want 1000 990", h, o)
	}
	rd := r.ReadFrom(0, nil, 100)
	if rd.Skipped != 990 {
		t.Fatalf("skipped %d, want 990", rd.Skipped)
	}
	if len(rd.Items) != 10 || rd.Items[0] != 990 || rd.Items[9] != 999 || rd.Next != 1000 {
		t.Fatalf("items %v next %d, want 990..999 next 1000", rd.Items, rd.Next)
	}
	// Partly behind: cursor 995 is still held, nothing skipped.
	rd = r.ReadFrom(995, nil, 3)
	if rd.Skipped != 0 || len(rd.Items) != 3 || rd.Items[0] != 995 || rd.Next != 998 {
		t.Fatalf("read from 995: %+v", rd)
	}
	// A cursor past the head is clamped to the head.
	rd = r.ReadFrom(5000, nil, 3)
	if rd.Next != 1000 || len(rd.Items) != 0 || rd.Closed {
		t.Fatalf("read past head: %+v", rd)
	}
	// max 0 reads nothing and does not move the cursor.
	rd = r.ReadFrom(995, nil, 0)
	if rd.Next != 995 || len(rd.Items) != 0 {
		t.Fatalf("max 0: %+v", rd)
	}
}

func TestReadAppendsToDst(t *testing.T) {
	r := New[int](4)
	r.Append(7)
	r.Append(8)
	dst := make([]int, 1, 8)
	dst[0] = -1
	rd := r.ReadFrom(0, dst, 10)
	if len(rd.Items) != 3 || rd.Items[0] != -1 || rd.Items[1] != 7 || rd.Items[2] != 8 {
		t.Fatalf("items %v", rd.Items)
	}
	if &rd.Items[0] != &dst[0] {
		t.Fatal("ReadFrom reallocated a dst with room to spare")
	}
	// max counts the items read, not what dst already held.
	rd = r.ReadFrom(0, dst, 1)
	if len(rd.Items) != 2 || rd.Next != 1 {
		t.Fatalf("max 1 with a non-empty dst: %v next %d", rd.Items, rd.Next)
	}
}

func TestCapacityBelowOne(t *testing.T) {
	r := New[int](0)
	r.Append(1)
	r.Append(2)
	rd := r.ReadFrom(0, nil, 5)
	if rd.Skipped != 1 || len(rd.Items) != 1 || rd.Items[0] != 2 {
		t.Fatalf("%+v", rd)
	}
}

func TestCloseWakesWaitersWhoDrainThenSeeClosed(t *testing.T) {
	r := New[int](16)
	for v := range 5 {
		r.Append(v)
	}
	const waiters = 10
	var wg sync.WaitGroup
	got := make([][]int, waiters)
	closed := make([]bool, waiters)
	ready := make(chan struct{}, waiters)
	for i := range waiters {
		wg.Go(func() {
			// Each waiter has read the first two items and is now waiting
			// at the live edge for more.
			rd := r.ReadFrom(2, nil, 100)
			got[i] = rd.Items
			cursor := rd.Next
			// Read again at the edge: nothing, so wait.
			rd = r.ReadFrom(cursor, nil, 100)
			if len(rd.Items) != 0 || rd.Closed {
				t.Errorf("waiter %d: unexpected %+v", i, rd)
				return
			}
			ready <- struct{}{}
			select {
			case <-rd.Wait:
			case <-time.After(10 * time.Second):
				t.Errorf("waiter %d not woken", i)
				return
			}
			for {
				rd = r.ReadFrom(cursor, nil, 1)
				got[i] = append(got[i], rd.Items...)
				cursor = rd.Next
				if rd.Closed {
					closed[i] = true
					return
				}
				if len(rd.Items) == 0 {
					select {
					case <-rd.Wait:
					case <-time.After(10 * time.Second):
						t.Errorf("waiter %d: not woken again", i)
						return
					}
				}
			}
		})
	}
	for range waiters {
		<-ready
	}
	// The waiters wake for the appends; they must still drain 5..7 after
	// Close and only then see Closed.
	r.Append(5)
	r.Append(6)
	r.Append(7)
	r.Close()
	r.Close()   // idempotent
	r.Append(8) // no-op on a closed ring
	wg.Wait()
	for i := range waiters {
		if !closed[i] {
			t.Fatalf("waiter %d never saw Closed", i)
		}
		want := []int{2, 3, 4, 5, 6, 7}
		if len(got[i]) != len(want) {
			t.Fatalf("waiter %d got %v, want %v", i, got[i], want)
		}
		for j := range want {
			if got[i][j] != want[j] {
				t.Fatalf("waiter %d got %v, want %v", i, got[i], want)
			}
		}
	}
	if r.Head() != 8 {
		t.Fatalf("append after close changed head to %d", r.Head())
	}
}

func TestCloseWakesIdleWaiter(t *testing.T) {
	r := New[int](4)
	rd := r.ReadFrom(0, nil, 1)
	if rd.Closed || len(rd.Items) != 0 {
		t.Fatalf("%+v", rd)
	}
	go r.Close()
	select {
	case <-rd.Wait:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a waiting reader")
	}
	if rd = r.ReadFrom(0, nil, 1); !rd.Closed {
		t.Fatalf("empty closed ring: %+v", rd)
	}
	// A reader that is behind does not see Closed until it has everything.
	r2 := New[int](4)
	r2.Append(1)
	r2.Close()
	if rd = r2.ReadFrom(0, nil, 0); rd.Closed {
		t.Fatal("Closed reported with an item left to read")
	}
	if rd = r2.ReadFrom(0, nil, 1); !rd.Closed || len(rd.Items) != 1 {
		t.Fatalf("%+v", rd)
	}
}

// A writer at full speed and 100 readers at once (run with -race): each
// reader's items are strictly increasing and consecutive except where it
// was skipped, and every reader accounts for every item as read or skipped.
func TestConcurrentWriterAnd100Readers(t *testing.T) {
	r := New[int](32)
	const n = 20000
	const readers = 100
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			items, skipped := follow(t, r, 1+i%17)
			if uint64(len(items))+skipped != n {
				t.Errorf("reader %d: %d items + %d skipped != %d", i, len(items), skipped, n)
			}
			for j := 1; j < len(items); j++ {
				if items[j] <= items[j-1] {
					t.Errorf("reader %d: out of order %d after %d", i, items[j], items[j-1])
					return
				}
			}
			if len(items) == 0 || items[len(items)-1] != n-1 {
				t.Errorf("reader %d did not get the last item", i)
			}
		})
	}
	start := time.Now()
	for v := range n {
		r.Append(v)
		if v%1000 == 0 {
			runtime.Gosched()
		}
	}
	writer := time.Since(start)
	r.Close()
	wg.Wait()
	t.Logf("writer appended %d items in %v with %d readers", n, writer, readers)
}

// BenchmarkAppendNoReaders is the writer's cost alone.
func BenchmarkAppendNoReaders(b *testing.B) {
	r := New[[]byte](128)
	v := make([]byte, 600)
	b.ReportAllocs()
	for b.Loop() {
		r.Append(v)
	}
}

// BenchmarkReadFrom is one reader's cost to take a batch of 16 (no wait).
func BenchmarkReadFrom(b *testing.B) {
	r := New[[]byte](128)
	v := make([]byte, 600)
	for range 128 {
		r.Append(v)
	}
	dst := make([][]byte, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		rd := r.ReadFrom(100, dst[:0], 16)
		if len(rd.Items) != 16 {
			b.Fatal(len(rd.Items))
		}
	}
}

// BenchmarkAppendReadFrom1000Waiting: 1,000 readers wait at the live edge;
// each op is one Append that wakes all of them and every reader reading the
// new item (the writer waits until all have it). ns/op is the cost of
// delivering one item (one Ogg page) to 1,000 listeners; allocs/op counts
// everything allocated by the writer and the 1,000 readers for it.
func BenchmarkAppendReadFrom1000Waiting(b *testing.B) {
	const readers = 1000
	r := New[[]byte](128)
	v := make([]byte, 600)
	var got atomic.Int64
	allRead := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			var cursor uint64
			dst := make([][]byte, 0, 16)
			rd := r.ReadFrom(cursor, dst[:0], 16)
			for {
				cursor = rd.Next
				if len(rd.Items) > 0 && got.Add(int64(len(rd.Items))) == readers {
					allRead <- struct{}{}
				}
				if rd.Closed {
					return
				}
				if len(rd.Items) == 0 {
					<-rd.Wait
				}
				rd = r.ReadFrom(cursor, dst[:0], 16)
			}
		})
	}
	// Let every reader reach its first wait.
	time.Sleep(50 * time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		got.Store(0)
		r.Append(v)
		<-allRead
	}
	b.StopTimer()
	r.Close()
	wg.Wait()
}
