package load

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"
)

// A minimal HTTP/1.1 client over one connection per listener: a fixed read
// buffer, requests built in a reused scratch slice, bodies handed back as
// sub-slices of the buffer. net/http would cost two goroutines per
// connection and several allocations per request; a load generator holding
// 19,000 listeners on a 2-core box cannot afford either.

// hconn is one listener's connection.
type hconn struct {
	c      net.Conn
	buf    []byte
	r, w   int    // unread bytes are buf[r:w]
	req    []byte // request scratch
	host   string
	readAt int64 // wall time (Unix ns) the last read returned
	bytes  int64 // bytes read in all
	reads  int64 // reads that returned data
	reqs   int64 // requests sent
}

var (
	errHeadTooBig = errors.New("response header too large")
	errBadHead    = errors.New("malformed response header")
)

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h): with a source
// address bound, choose the port at connect time from the whole 4-tuple, so
// each source address has its own ephemeral ports.
const ipBindAddressNoPort = 24

// dial connects to addr from source address src (nil: any).
func dial(ctx context.Context, addr string, src net.IP, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
			if err != nil {
				return err
			}
			if serr != nil && !errors.Is(serr, syscall.ENOPROTOOPT) { // old kernels: bind picks the port
				return serr
			}
			return nil
		}
	}
	return d.DialContext(ctx, "tcp", addr)
}

func newHconn(c net.Conn, host string, bufSize int) *hconn {
	return &hconn{c: c, host: host, buf: make([]byte, bufSize), req: make([]byte, 0, 256)}
}

// begin starts a request ("GET ", "POST "): append the path (and query)
// to the result, then call end.
func (h *hconn) begin(method string) []byte {
	return append(h.req[:0], method...)
}

// end finishes and sends the request built in b, with extra header lines
// ("Name: value"; empty ones are left out).
func (h *hconn) end(b []byte, post bool, headers ...string) error {
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.host...)
	b = append(b, "\r\nUser-Agent: onair-load\r\n"...)
	for _, hd := range headers {
		if hd != "" {
			b = append(b, hd...)
			b = append(b, "\r\n"...)
		}
	}
	if post {
		b = append(b, "Content-Length: 0\r\n"...)
	}
	b = append(b, "\r\n"...)
	h.req = b
	h.reqs++
	_, err := h.c.Write(b)
	return err
}

// fill reads more bytes into the buffer, moving unread ones to its front.
func (h *hconn) fill() error {
	if h.r == h.w {
		h.r, h.w = 0, 0
	} else if h.w == len(h.buf) {
		if h.r == 0 {
			return errHeadTooBig
		}
		h.w = copy(h.buf, h.buf[h.r:h.w])
		h.r = 0
	}
	n, err := h.c.Read(h.buf[h.w:])
	h.readAt = time.Now().UnixNano()
	h.w += n
	h.bytes += int64(n)
	if n > 0 {
		h.reads++
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// respHead is the part of a response header the load generator reads.
type respHead struct {
	status     int
	length     int64 // Content-Length, -1 when absent
	chunked    bool
	close      bool
	capMs      int64 // Onair-First-Capture-Ms
	granule    uint64
	hasCap     bool
	hasGranule bool
	retryAfter int
	location   string // a redirect's
}

var crlfcrlf = []byte("\r\n\r\n")

// readHead reads and parses a response header.
func (h *hconn) readHead(rh *respHead) error {
	for {
		if i := bytes.Index(h.buf[h.r:h.w], crlfcrlf); i >= 0 {
			head := h.buf[h.r : h.r+i+2]
			h.r += i + 4
			return parseHead(head, rh)
		}
		if err := h.fill(); err != nil {
			if h.w > h.r && errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

func parseHead(head []byte, rh *respHead) error {
	*rh = respHead{length: -1}
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok || len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return errBadHead
	}
	st, ok := atoi(line[9:12])
	if !ok {
		return errBadHead
	}
	rh.status = int(st)
	if line[7] == '0' {
		rh.close = true // HTTP/1.0 closes unless told otherwise; we never ask
	}
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, ok := atoi(v)
			if !ok {
				return errBadHead
			}
			rh.length = n
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			rh.chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			rh.close = bytes.EqualFold(v, []byte("close"))
		case bytes.EqualFold(k, []byte("Onair-First-Capture-Ms")):
			rh.capMs, rh.hasCap = atoi(v)
		case bytes.EqualFold(k, []byte("Onair-First-Granule")):
			var g int64
			g, rh.hasGranule = atoi(v)
			rh.granule = uint64(g)
		case bytes.EqualFold(k, []byte("Location")):
			rh.location = string(v)
		case bytes.EqualFold(k, []byte("Retry-After")):
			n, _ := atoi(v)
			rh.retryAfter = int(n)
		}
	}
	return nil
}

// atoi parses a non-negative decimal number without allocating.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// body tracks the framing of one response body.
type body struct {
	mode uint8
	left int64
	d    dechunker
	done bool
}

const (
	bodyLength = iota
	bodyChunked
	bodyClose
)

func (b *body) start(rh *respHead) {
	*b = body{}
	switch {
	case rh.chunked:
		b.mode = bodyChunked
	case rh.length >= 0:
		b.mode, b.left, b.done = bodyLength, rh.length, rh.length == 0
	case rh.status == 204 || rh.status == 304 || rh.status < 200:
		b.done = true
	default:
		b.mode = bodyClose
	}
}

// next returns the next body bytes (a sub-slice of the read buffer, valid
// until the next call), reading from the connection when none are buffered.
// It returns io.EOF at the end of the body and io.ErrUnexpectedEOF when the
// connection ends before it.
func (h *hconn) next(b *body) ([]byte, error) {
	for {
		if b.done {
			return nil, io.EOF
		}
		if h.r < h.w {
			switch b.mode {
			case bodyLength:
				k := int(min(b.left, int64(h.w-h.r)))
				data := h.buf[h.r : h.r+k]
				h.r += k
				b.left -= int64(k)
				b.done = b.left == 0
				return data, nil
			case bodyClose:
				data := h.buf[h.r:h.w]
				h.r = h.w
				return data, nil
			default:
				n, data, done, err := b.d.next(h.buf[h.r:h.w])
				h.r += n
				b.done = done
				if err != nil {
					return nil, err
				}
				if len(data) > 0 {
					return data, nil
				}
				continue
			}
		}
		if err := h.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				if b.mode == bodyClose {
					b.done = true
					return nil, io.EOF
				}
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// readBody appends the whole body to dst (at most limit bytes in all).
func (h *hconn) readBody(b *body, dst []byte, limit int) ([]byte, error) {
	for {
		data, err := h.next(b)
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
		if len(dst)+len(data) > limit {
			return dst, errBodyTooBig
		}
		dst = append(dst, data...)
	}
}

// discardBody reads the body and returns its length.
func (h *hconn) discardBody(b *body) (int64, error) {
	var n int64
	for {
		data, err := h.next(b)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += int64(len(data))
	}
}

var errBodyTooBig = errors.New("response body too large")

// appendUint appends a decimal number.
func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }
