package cosig

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

const text = "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

// TestCosign: a cosignature made here opens with the verifier through
// golang.org/x/mod/sumdb/note, signs the C2SP message (checked with plain
// Ed25519) and carries its time; an altered note or another key fails.
func TestCosign(t *testing.T) {
	skey, vkey, err := GenerateKey("witness.example/w1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Unix(1679315147, 0) }
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil || len(n.Sigs) != 1 {
		t.Fatalf("open: %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	if len(raw) != 4+8+64 || binary.BigEndian.Uint64(raw[4:]) != 1679315147 {
		t.Fatalf("signature layout: %x", raw)
	}
	pub, _ := base64.StdEncoding.DecodeString(strings.SplitN(vkey, "+", 3)[2])
	if !ed25519.Verify(pub[1:], []byte("cosignature/v1\ntime 1679315147\n"+text), raw[12:]) {
		t.Fatal("not an Ed25519 signature of the C2SP cosignature/v1 message")
	}
	if tm, ok := Time(n.Sigs[0].Base64); !ok || tm.Unix() != 1679315147 {
		t.Fatalf("Time = %v %v", tm, ok)
	}
	altered := strings.Replace(string(msg), "\n5\n", "\n6\n", 1)
	if _, err := note.Open([]byte(altered), note.VerifierList(v)); err == nil {
		t.Fatal("an altered checkpoint verified")
	}
	_, other, _ := GenerateKey("witness.example/w1")
	ov, _ := NewVerifier(other)
	if _, err := note.Open(msg, note.VerifierList(ov)); err == nil {
		t.Fatal("verified with another key")
	}
	for _, bad := range []string{"", "a+b+c", vkey + "x", strings.Replace(vkey, "+", "++", 1), "w+00000000+BA=="} {
		if _, err := NewVerifier(bad); err == nil {
			t.Errorf("NewVerifier(%q) accepted", bad)
		}
	}
}

func FuzzVerifierKey(f *testing.F) {
	_, vkey, _ := GenerateKey("w")
	f.Add(vkey)
	f.Add("w+00000000+BA==")
	f.Fuzz(func(t *testing.T, k string) {
		v, err := NewVerifier(k)
		if err == nil && v.Verify([]byte(text), make([]byte, 72)) {
			t.Fatal("a zero signature verified")
		}
	})
}
