package receipts

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAppend: one per-second record of about 1 KiB appended (hashing,
// the tail write; every 256th also seals a bundle and its tiles, with fsync).
func BenchmarkAppend(b *testing.B) {
	l, _ := openLog(b, b.TempDir())
	defer l.Close()
	pad := make([]byte, 900)
	for i := range pad {
		pad[i] = 'x'
	}
	entry := fmt.Appendf(nil, `{"v":1,"kind":"second","t":1780000000,"pad":"%s"}`, pad)
	b.SetBytes(int64(len(entry)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(entry); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckpoint: signing a checkpoint after one new entry (the
// partial bundle and tiles written and fsynced, then the signed note).
func BenchmarkCheckpoint(b *testing.B) {
	l, _ := openLog(b, b.TempDir())
	defer l.Close()
	appendSeconds(b, l, 0, 1000)
	var i int64
	for b.Loop() {
		i++
		l.Append(second(1000 + i))
		if err := l.Checkpoint(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify: verifying a three-hour show's log (10,800 per-second
// records of about 1 KiB) from its directory.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	l, _ := openLog(b, dir)
	pad := make([]byte, 900)
	for i := range pad {
		pad[i] = 'x'
	}
	for s := int64(0); s < 10_800; s++ {
		if _, err := l.Append(fmt.Appendf(nil, `{"v":1,"kind":"second","t":%d,"pad":"%s"}`, 1_780_000_000+s, pad)); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	for b.Loop() {
		if rep := Verify(context.Background(), DirSource(dir), VerifyOptions{}); rep.Failure != nil {
			b.Fatal(rep.Failure)
		}
	}
}
