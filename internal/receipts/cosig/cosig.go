// Package cosig signs and verifies C2SP tlog-cosignature/v1 signatures: a
// witness's timestamped Ed25519 note signature on a log's checkpoint.
package cosig

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// alg is the cosignature/v1 signature type in key IDs and vkeys.
const alg = 0x04

// sigLen is a timestamped_signature: a big-endian u64 time, then Ed25519.
const sigLen = 8 + ed25519.SignatureSize

// keyID is SHA-256(name || "\n" || 0x04 || public key)[:4].
func keyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{alg})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// message is what a cosignature signs: the header line, the time line, then
// the checkpoint's note text.
func message(t uint64, text []byte) []byte {
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n", t)
	return append(m, text...)
}

func validName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, unicode.IsSpace) && !strings.Contains(name, "+")
}

// GenerateKey makes a cosigner key pair named name: skey in the note
// signer-key layout with type 0x04 ("PRIVATE+KEY+name+id+base64(0x04 ||
// seed)"), vkey as C2SP vkeys say ("name+id+base64(0x04 || public key)").
func GenerateKey(name string) (skey, vkey string, err error) {
	if !validName(name) {
		return "", "", fmt.Errorf("cosigner name %q: want a name without spaces or '+'", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	id := keyID(name, pub)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{alg}, priv.Seed()...)))
	vkey = fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{alg}, pub...)))
	return skey, vkey, nil
}

// Signer makes cosignatures; it is a note.Signer.
type Signer struct {
	name string
	id   uint32
	priv ed25519.PrivateKey
	// Now is the clock of the timestamps (time.Now if nil).
	Now func() time.Time
}

// NewSigner parses a key made by GenerateKey.
func NewSigner(skey string) (*Signer, error) {
	rest, ok := strings.CutPrefix(skey, "PRIVATE+KEY+")
	if !ok {
		return nil, errors.New("cosigner key: want PRIVATE+KEY+name+id+key")
	}
	name, id, key, err := splitKey(rest)
	if err != nil || len(key) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("cosigner key: malformed (%v)", err)
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	if keyID(name, priv.Public().(ed25519.PublicKey)) != id {
		return nil, errors.New("cosigner key: its id does not match the key")
	}
	return &Signer{name: name, id: id, priv: priv}, nil
}

// splitKey parses "name+id+base64(0x04 || key)".
func splitKey(s string) (name string, id uint32, key []byte, err error) {
	parts := strings.SplitN(s, "+", 3) // the base64 may hold '+'
	if len(parts) != 3 || !validName(parts[0]) || len(parts[1]) != 8 {
		return "", 0, nil, errors.New("want name+id+key")
	}
	n, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return "", 0, nil, errors.New("id is not 8 hex digits")
	}
	key, err = base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) == 0 || key[0] != alg {
		return "", 0, nil, errors.New("key is not base64 of a cosignature/v1 (type 0x04) key")
	}
	return parts[0], uint32(n), key, nil
}

// Name is the cosigner's name.
func (s *Signer) Name() string { return s.name }

// KeyHash is the cosigner's key ID.
func (s *Signer) KeyHash() uint32 { return s.id }

// Sign cosigns a checkpoint's note text, now.
func (s *Signer) Sign(text []byte) ([]byte, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := uint64(now().Unix())
	sig := ed25519.Sign(s.priv, message(t, text))
	return append(binary.BigEndian.AppendUint64(nil, t), sig...), nil
}

// Verifier checks cosignatures; it is a note.Verifier.
type Verifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

// NewVerifier parses a cosigner vkey.
func NewVerifier(vkey string) (*Verifier, error) {
	name, id, key, err := splitKey(vkey)
	if err != nil {
		return nil, fmt.Errorf("cosigner verifier key %q: %v", vkey, err)
	}
	if len(key) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("cosigner verifier key %q: wrong key length", vkey)
	}
	pub := ed25519.PublicKey(key[1:])
	if keyID(name, pub) != id {
		return nil, fmt.Errorf("cosigner verifier key %q: its id does not match the key", vkey)
	}
	return &Verifier{name: name, id: id, pub: pub}, nil
}

// Name is the cosigner's name.
func (v *Verifier) Name() string { return v.name }

// KeyHash is the cosigner's key ID.
func (v *Verifier) KeyHash() uint32 { return v.id }

// Verify checks a cosignature on a checkpoint's note text.
func (v *Verifier) Verify(text, sig []byte) bool {
	if len(sig) != sigLen {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, message(t, text), sig[8:])
}

// Time is the timestamp of a cosignature (the base64 of a note signature
// line, key ID included), or false when it is not one.
func Time(b64 string) (time.Time, bool) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 4+sigLen {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[4:])), 0).UTC(), true
}
