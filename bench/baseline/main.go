// Command baseline is the trivial writer of the bench: the physical limit
// of serving one live Ogg/Opus stream to many sockets on this machine.
//
// It replays a file of Ogg pages in real time (by their granule positions,
// looping with the granules and page numbers carried on so the stream never
// goes back) and, every --batch, appends the pages that came due to a list
// of batches shared by all. Each accepted connection has one goroutine that
// reads the request line and headers, answers with a plain HTTP/1.0 200, the
// stream's header pages and the latest batch (a start-up burst, as onair's
// five 100 ms pages), then writes each new batch as it comes, the same bytes
// for everyone. Nothing else: no parsing of the request, no limits, no
// metrics, no per-listener buffers.
//
//	go run ./bench/baseline --file program.ogg --listen 127.0.0.1:8002
//	curl -s http://127.0.0.1:8002/stream.opus | ffprobe -
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/onair-live/onair/internal/ogg"
)

func main() {
	file := flag.String("file", "", "Ogg/Opus file to replay in real time (required)")
	listen := flag.String("listen", "127.0.0.1:8002", "address to serve the stream at (any path)")
	batch := flag.Duration("batch", 500*time.Millisecond, "how often the pages that came due are written to every listener")
	flag.Parse()
	if *file == "" || *batch <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	prog, err := parseProgram(data)
	if err != nil {
		log.Fatalf("%s: %v", *file, err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	st := &stream{head: prog.head, cur: &batchNode{ready: make(chan struct{})}}
	go st.replay(prog, *batch)
	log.Printf("baseline: serving %s (%d audio pages, %.1f s, looped) at http://%s/ in %s batches",
		*file, len(prog.pages), float64(prog.span)/48000, ln.Addr(), *batch)
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Print(err) // EMFILE and the like: wait, do not spin
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go st.serve(c)
	}
}

// program is the file's header pages and audio pages.
type program struct {
	head  []byte   // the header pages (granule 0: OpusHead, OpusTags), sent to every listener first
	pages [][]byte // audio pages
	gran  []uint64 // their granule positions (48 kHz samples)
	span  uint64   // granules in one pass (the first page's length taken as the loop's seam)
	seqs  uint32   // pages in one pass
}

func parseProgram(b []byte) (*program, error) {
	p := &program{}
	for len(b) > 0 {
		if len(b) < 27 {
			break
		}
		if !bytes.HasPrefix(b, []byte("OggS")) {
			return nil, errors.New("not a sequence of Ogg pages")
		}
		n := 27 + int(b[26])
		if len(b) < n {
			break // a truncated last page (a capture cut short) is left out
		}
		for _, s := range b[27:n] {
			n += int(s)
		}
		if len(b) < n {
			break
		}
		page, g := b[:n:n], binary.LittleEndian.Uint64(b[6:])
		b = b[n:]
		if g == 0 && len(p.pages) == 0 {
			p.head = append(p.head, page...)
			continue
		}
		p.pages = append(p.pages, page)
		p.gran = append(p.gran, g)
	}
	if len(p.pages) < 2 {
		return nil, errors.New("no audio pages")
	}
	p.span = p.gran[len(p.gran)-1] - p.gran[0] + (p.gran[1] - p.gran[0])
	p.seqs = uint32(len(p.pages))
	return p, nil
}

// batchNode is one batch of pages in a list shared by all listeners: ready
// is closed when next is set.
type batchNode struct {
	data  []byte
	next  *batchNode
	ready chan struct{}
}

type stream struct {
	head []byte
	mu   sync.Mutex
	cur  *batchNode // the latest batch
}

// replay publishes, every interval, the pages whose end came due, as if the
// first audio page was mixed when it started.
func (st *stream) replay(p *program, interval time.Duration) {
	start := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	var i, pass int
	for now := range t.C {
		due := uint64(now.Sub(start) / (time.Second / 48000))
		var buf []byte
		for {
			g := p.gran[i] - p.gran[0] + uint64(pass)*p.span
			if p.gran[i] == ^uint64(0) {
				g = 0 // no packet ends on this page: it goes out right away
			}
			if g > due {
				break
			}
			buf = append(buf, p.page(i, pass)...)
			if i++; i == len(p.pages) {
				i, pass = 0, pass+1
			}
		}
		if len(buf) == 0 {
			continue
		}
		n := &batchNode{data: buf, ready: make(chan struct{})}
		st.mu.Lock()
		old := st.cur
		old.next = n
		st.cur = n
		st.mu.Unlock()
		close(old.ready)
	}
}

// page returns audio page i of the given pass: on later passes, with the
// granule and page number carried on, no end-of-stream flag and a new CRC.
func (p *program) page(i, pass int) []byte {
	if pass == 0 && p.pages[i][5]&0x04 == 0 {
		return p.pages[i]
	}
	pg := append([]byte(nil), p.pages[i]...)
	pg[5] &^= 0x04
	if g := p.gran[i]; g != ^uint64(0) {
		binary.LittleEndian.PutUint64(pg[6:], g+uint64(pass)*p.span)
	}
	seq := binary.LittleEndian.Uint32(pg[18:])
	binary.LittleEndian.PutUint32(pg[18:], seq+uint32(pass)*p.seqs)
	ogg.Seal(pg)
	return pg
}

const response = "HTTP/1.0 200 OK\r\nContent-Type: audio/ogg\r\nCache-Control: no-cache, no-store\r\n\r\n"

// serve is one listener: read the request, answer, then write every batch.
func (st *stream) serve(c net.Conn) {
	defer c.Close()
	if !readRequest(c) {
		return
	}
	st.mu.Lock()
	b := st.cur
	st.mu.Unlock()
	first := make([]byte, 0, len(response)+len(st.head)+len(b.data))
	first = append(append(append(first, response...), st.head...), b.data...)
	if !write(c, first) {
		return
	}
	for {
		<-b.ready
		b = b.next
		if !write(c, b.data) {
			return
		}
	}
}

// write writes b (no deadline: a listener that stops reading holds its
// goroutine until it goes away, as in any minimal server).
func write(c net.Conn, b []byte) bool {
	_, err := c.Write(b)
	return err == nil
}

// readRequest reads up to the end of the request header (1 KiB, 5 s at most).
func readRequest(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [1024]byte
	n := 0
	for n < len(buf) {
		k, err := c.Read(buf[n:])
		n += k
		if bytes.Contains(buf[max(0, n-k-3):n], []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
	fmt.Fprint(c, "HTTP/1.0 431 Request Header Fields Too Large\r\n\r\n")
	return false
}
