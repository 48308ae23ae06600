package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/ogg"
)

// testProgram is a capture of a live stream: headers, then three 100 ms
// pages whose granules start mid-show, the last one flagged end of stream.
func testProgram() []byte {
	pkt := make([]byte, 40)
	five := [][]byte{pkt, pkt, pkt, pkt, pkt}
	var b []byte
	b = append(b, ogg.BuildPage(ogg.FlagBOS, 0, 9, 0, [][]byte{ogg.OpusHeadPacket(1, 312, 48000)})...)
	b = append(b, ogg.BuildPage(0, 0, 9, 1, [][]byte{ogg.OpusTagsPacket("t")})...)
	b = append(b, ogg.BuildPage(0, 96000, 9, 2, five)...)
	b = append(b, ogg.BuildPage(0, 100800, 9, 3, five)...)
	b = append(b, ogg.BuildPage(ogg.FlagEOS, 105600, 9, 4, five)...)
	return append(b, "OggS\x00\x00trunc"...) // cut short by the capture
}

// TestLoopIsOneStream checks that the replay, looped, is one valid Ogg
// stream: CRCs right, page numbers and granules carried on, no end of
// stream in the middle.
func TestLoopIsOneStream(t *testing.T) {
	p, err := parseProgram(testProgram())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.pages) != 3 || p.span != 14400 {
		t.Fatalf("%d pages, span %d", len(p.pages), p.span)
	}
	all := append([]byte(nil), p.head...)
	var grans []uint64
	for pass := range 3 {
		for i := range p.pages {
			pg := p.page(i, pass)
			grans = append(grans, binary.LittleEndian.Uint64(pg[6:]))
			all = append(all, pg...)
		}
	}
	for i := 1; i < len(grans); i++ {
		if grans[i]-grans[i-1] != 4800 {
			t.Fatalf("granules %v: want 4800 apart", grans)
		}
	}
	rd := ogg.NewReader(bytes.NewReader(all))
	n := 0
	for {
		_, err := rd.NextPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		n++
	}
	if n != 2+3*3*5 {
		t.Fatalf("%d packets", n)
	}
}

// TestServe streams from the baseline over a real socket: the response,
// the headers, then pages in batches.
func TestServe(t *testing.T) {
	p, err := parseProgram(testProgram())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st := &stream{head: p.head, cur: &batchNode{ready: make(chan struct{})}}
	go st.replay(p, 50*time.Millisecond)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go st.serve(c)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /stream.opus HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.0 200") {
		t.Fatalf("status %q", line)
	}
	for line != "\r\n" {
		if line, err = br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	rd := ogg.NewReader(br)
	for n := 0; n < 2+6*5; n++ { // two passes of the program
		if _, err := rd.NextPacket(); err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
	}
}
