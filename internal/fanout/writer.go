package fanout

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/onair-live/onair/internal/ogg"
	"github.com/onair-live/onair/internal/telemetry"
	"golang.org/x/sys/unix"
)

// Attach serves one progressive Ogg listener without a goroutine of its
// own: once the first page exists it takes over the HTTP connection and
// hands it to the stream's writers, which send pages to every listener
// with non-blocking writes of page bytes shared by its cohort. A listener
// then costs a few hundred bytes instead of a goroutine and its buffers.
// Attach returns once the listener is handed over (nil), or an error while
// the caller may still answer (ErrNoProgram, ctx errors); when the
// connection cannot be taken over it falls back to Serve.
func (s *Stream) Attach(ctx context.Context, w http.ResponseWriter, firstWait time.Duration) error {
	return s.AttachBurst(ctx, w, firstWait, s.cfg.BurstPages)
}

// AttachBurst is Attach with a start-up burst of its own: a player that
// lost its edge and starts again (Chromium waits for some 30 KB of Ogg
// before it plays) is sent more of what was just on air, at once.
func (s *Stream) AttachBurst(ctx context.Context, w http.ResponseWriter, firstWait time.Duration, burst int) error {
	hj, ok := w.(http.Hijacker)
	if !ok {
		_, err := s.serve(ctx, w, firstWait, burst)
		return err
	}
	s.listeners.Add(1)
	metricListeners.Inc()
	s.stats.OggArrived.Add(1)
	cursor, first, err := s.waitFirst(ctx, firstWait, burst)
	if err != nil {
		s.listenerLeft()
		return err
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		s.listenerLeft()
		return err
	}
	fd, err := socketFD(conn)
	if err != nil {
		conn.Close() // not a socket (TLS, say): nothing to serve it with
		s.listenerLeft()
		return err
	}
	// A bounded socket buffer (seconds of audio) bounds the kernel memory a
	// listener holds and lets a stalled one be seen as such.
	if wb, ok := conn.(interface{ SetWriteBuffer(int) error }); ok {
		_ = wb.SetWriteBuffer(sndBuf)
	}
	view := ogg.ViewFrom(first)
	head := append(responseHead(first, view), s.headers...)
	e := &ear{conn: conn, fd: fd, cursor: cursor, view: view, pending: head, progress: time.Now(), since: time.Now()}
	s.shards[int(cursor+uint64(s.attached.Add(1)))%len(s.shards)].add(e)
	return nil
}

// socketFD is the descriptor of conn's socket. The shard writes to it
// directly: conn stays open (and the descriptor valid) until the shard
// itself closes it, and Go keeps its sockets non-blocking, so a write never
// parks the thread.
func socketFD(conn net.Conn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, errors.New("fanout: connection is not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, err
	}
	return fd, nil
}

func (s *Stream) listenerLeft() {
	s.listeners.Add(-1)
	metricListeners.Dec()
	s.stats.OggDeparted.Add(1)
}

// responseHead is the HTTP response header of a listener's stream. The
// body runs until the connection closes: no chunk framing per write.
func responseHead(first ogg.Page, view ogg.View) []byte {
	b := make([]byte, 0, 320)
	b = append(b, "HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\nCache-Control: no-cache, no-store\r\n"...)
	b = append(b, "X-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n"...)
	b = append(b, HeaderFirstCapture+": "...)
	b = strconv.AppendInt(b, first.Capture.UnixMilli(), 10)
	b = append(b, "\r\n"+HeaderFirstGranule+": "...)
	b = strconv.AppendUint(b, view.StartGranule(first), 10)
	return append(b, "\r\n\r\n"...)
}

// sndBuf is the socket send buffer of an attached listener: at 48 kb/s,
// about ten seconds of audio (Linux doubles it for bookkeeping).
const sndBuf = 64 << 10

// ear is one attached listener. Only its shard's goroutine touches it.
type ear struct {
	conn     net.Conn
	fd       int       // conn's socket; see socketFD
	cursor   uint64    // next ring page to send
	view     ogg.View  // how this listener's stream numbers the pages: its cohort
	pending  []byte    // the rest of a page (or the response head) partly sent, e's own bytes
	progress time.Time // last write that moved bytes, or last time caught up
	since    time.Time // when it was attached
	newest   time.Time // capture time of the last whole page sent
	st       ListenStats
}

// shard is one writer goroutine and the listeners it serves.
type shard struct {
	s    *Stream
	mu   sync.Mutex
	in   []*ear // newcomers, handed over under mu
	wake chan struct{}
	done chan struct{} // closed when the shard has closed its connections

	ears  []*ear // run goroutine only, in the order they came (so by cohort)
	pages []ogg.Page
	sent  int       // bytes written since the metric was last updated
	lag   [48]int64 // this pass's lag samples, by telemetry bucket

	// joinedBuf holds joinedPages (the ring's pages from joinedSeq on) as
	// joinedView numbers them; see joined.
	joinedBuf   []byte
	joinedPages []ogg.Page
	joinedSeq   uint64
	joinedView  ogg.View
}

// count adds the bytes of a pass to the metric: once per pass, not per
// write, since thousands of writes would contend on one counter.
func (sh *shard) count() {
	if sh.sent > 0 {
		metricBytes.Add(float64(sh.sent))
		sh.s.stats.Bytes.Add(int64(sh.sent))
		sh.s.stats.Lag.Merge(&sh.lag)
		sh.sent = 0
	}
}

func (sh *shard) add(e *ear) {
	sh.mu.Lock()
	sh.in = append(sh.in, e)
	sh.mu.Unlock()
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// run writes to the shard's listeners whenever pages arrive (or every
// WriteBatch, which batches several pages per write), until the stream
// stops.
func (sh *shard) run() {
	defer close(sh.done)
	var tick <-chan time.Time
	if b := sh.s.cfg.WriteBatch; b > 0 {
		t := time.NewTicker(b)
		defer t.Stop()
		tick = t.C
	}
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	blocked := false
	for {
		rd := sh.s.ring.ReadFrom(sh.s.ring.Head(), nil, 0)
		var more <-chan struct{}
		switch {
		case rd.Closed && len(sh.ears) > 0 && !blocked:
			blocked = sh.flushAll(time.Now(), false) // the end: send it to everyone now
			continue
		case tick == nil && !rd.Closed:
			more = rd.Wait
		}
		only := false
		select {
		case <-more:
		case <-tick:
		case <-retry.C:
			only = true // just the listeners whose socket was full
		case <-sh.wake:
			sh.welcome(time.Now()) // newcomers start now, the rest wait their turn
			continue
		case <-sh.s.stop:
			sh.closeAll()
			return
		}
		if blocked = sh.flushAll(time.Now(), only); blocked {
			retry.Reset(retryFull)
		}
	}
}

// retryFull is how soon a listener whose socket buffer was full is retried.
const retryFull = 50 * time.Millisecond

// welcome takes the newcomers and sends them their start at once; during
// a flash crowd that is one write per newcomer, not a pass over everyone.
func (sh *shard) welcome(now time.Time) {
	sh.mu.Lock()
	in := sh.in
	sh.in = nil
	sh.mu.Unlock()
	for _, e := range in {
		if sh.flush(e, now) {
			sh.ears = append(sh.ears, e)
		} else {
			sh.finish(e)
		}
	}
	sh.count()
}

// flushAll serves every listener once (only those with bytes waiting, when
// only is set); it reports whether any still has bytes waiting for room in
// its socket.
func (sh *shard) flushAll(now time.Time, only bool) (blocked bool) {
	sh.welcome(now)
	keep := sh.ears[:0]
	for _, e := range sh.ears {
		switch {
		case only && len(e.pending) == 0:
			keep = append(keep, e)
		case sh.flush(e, now):
			keep = append(keep, e)
			blocked = blocked || len(e.pending) > 0
		default:
			sh.finish(e)
		}
	}
	clear(sh.ears[len(keep):])
	sh.ears = keep
	sh.count()
	return blocked
}

// flush sends what listener e is missing; false when e is done (the end
// was sent, it went away, or it was too slow for too long).
func (sh *shard) flush(e *ear, now time.Time) bool {
	r := sh.s.ring
	if oldest := r.Oldest(); e.cursor < oldest {
		// Too slow: skip to near the live edge rather than dribble old audio.
		to := max(oldest, r.Head()-min(r.Head(), uint64(sh.s.cfg.BurstPages)))
		e.st.Skipped += to - e.cursor
		metricSkips.Add(float64(to - e.cursor))
		sh.s.stats.Skipped.Add(int64(to - e.cursor))
		e.cursor = to
	}
	before := e.st.Bytes
	if len(e.pending) > 0 {
		n, err := send(e.fd, e.pending)
		if err != nil {
			return false
		}
		sh.moved(e, n, now)
		e.pending = e.pending[n:]
	}
	rd := r.ReadFrom(e.cursor, sh.pages[:0], maxBatch)
	sh.pages = rd.Items
	switch {
	case len(e.pending) > 0: // the socket is full: the pages wait
	case len(rd.Items) > 0:
		b := sh.joined(e.view, e.cursor, rd.Items)
		n, err := send(e.fd, b)
		if err != nil {
			return false
		}
		sh.moved(e, n, now)
		sh.consume(e, b, n)
	default:
		e.progress = now // caught up
		return !rd.Closed
	}
	if n := e.st.Bytes - before; n > 0 && !e.newest.IsZero() {
		sh.lag[telemetry.BucketOf(now.Sub(e.newest))]++
	}
	if rd.Closed && len(e.pending) == 0 && e.cursor == rd.Next {
		return false // everything, EOS included, is out
	}
	return now.Sub(e.progress) < sh.s.cfg.StallCut
}

// moved accounts for n bytes written to e.
func (sh *shard) moved(e *ear, n int, now time.Time) {
	if n > 0 {
		e.progress = now
		e.st.Bytes += int64(n)
		sh.sent += n
	}
}

// consume advances e past the first n bytes of b, the joined pages; the
// rest of a page partly sent is copied, since the joined bytes change
// with the next cohort served.
func (sh *shard) consume(e *ear, b []byte, n int) {
	for _, p := range sh.joinedPages {
		if n == 0 {
			return
		}
		size := len(p.Data)
		if n < size {
			e.pending = append(e.pending[:0], b[n:size]...) // e's own bytes: its buffer is reused
			n = 0
		} else {
			n -= size
			e.newest = p.Capture
		}
		b = b[size:]
		e.cursor++
		e.st.Pages++
		e.st.Ended = p.EOS
	}
}

// joined is pages (the ring's pages from seq on) in one buffer, numbered
// for view. Listeners at the live edge all need the same pages, and those
// of one cohort (who started at the same page) the same bytes, so one copy
// per pass serves them all, renumbered in place from one cohort to the
// next (the writer keeps listeners in the order they came, so in cohort
// order), and each gets a single-buffer send: measured cheaper in the
// kernel than a vector of small pages. Ring pages never change once
// written, so (seq, count) names the pages.
func (sh *shard) joined(view ogg.View, seq uint64, pages []ogg.Page) []byte {
	if sh.joinedSeq == seq && len(sh.joinedPages) == len(pages) && len(sh.joinedBuf) > 0 {
		if view != sh.joinedView {
			b := sh.joinedBuf
			for _, p := range sh.joinedPages {
				p.Renumber(b[:len(p.Data)], view)
				b = b[len(p.Data):]
			}
			sh.joinedView = view
		}
		return sh.joinedBuf
	}
	clear(sh.joinedPages) // drop references to page memory
	b := sh.joinedBuf[:0]
	for _, p := range pages {
		b = p.AppendView(b, view)
	}
	sh.joinedBuf, sh.joinedSeq, sh.joinedView = b, seq, view
	sh.joinedPages = append(sh.joinedPages[:0], pages...)
	return b
}

// send writes b to the socket fd without blocking and without SIGPIPE.
func send(fd int, b []byte) (int, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	runtime.KeepAlive(b)
	return written(r, errno)
}

// written turns a write's result into bytes and error: a full socket
// buffer is no error, just no progress.
func written(r uintptr, errno unix.Errno) (int, error) {
	switch errno {
	case 0:
		return int(r), nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	}
	return 0, errno
}

// finish closes a listener's connection and accounts for it.
func (sh *shard) finish(e *ear) {
	_ = e.conn.Close()
	sh.s.listenerLeft()
	if !e.st.Ended && time.Since(e.progress) >= sh.s.cfg.StallCut {
		metricCut.Inc()
		sh.s.stats.Cut.Add(1)
	}
	sh.s.stats.left(time.Since(e.since))
	if e.st.Skipped > 0 {
		metricSkippedListeners.Inc()
	}
}

func (sh *shard) closeAll() {
	sh.flushAll(time.Now(), false) // take newcomers, send what can go without waiting
	for _, e := range sh.ears {
		sh.finish(e)
	}
	sh.ears = nil
}
