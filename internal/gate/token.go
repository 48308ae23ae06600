package gate

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// signer makes and checks small signed tokens (queue places, PoW
// challenges): state travels with the client, the node keeps none.
type signer struct {
	key   []byte
	epoch uint64 // per key: tokens signed under another key or epoch are void
}

func newSigner() *signer {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	var e [8]byte
	_, _ = rand.Read(e[:])
	return &signer{key: k, epoch: binary.BigEndian.Uint64(e[:])}
}

// MinTokenKey is the shortest cluster token key accepted, in bytes.
const MinTokenKey = 16

// CheckTokenKey says what is wrong with a cluster token key, if anything.
func CheckTokenKey(k []byte) error {
	if k != nil && len(k) < MinTokenKey {
		return fmt.Errorf("gate: token key of %d bytes, want at least %d", len(k), MinTokenKey)
	}
	return nil
}

// signerFor derives the signer from a cluster's shared key (HKDF-SHA256, a
// label of its own so no other use of the key can sign gate tokens), or
// makes a random one for a lone process (nil key).
func signerFor(clusterKey []byte) (*signer, error) {
	if err := CheckTokenKey(clusterKey); err != nil {
		return nil, err
	}
	if clusterKey == nil {
		return newSigner(), nil
	}
	b, err := hkdf.Key(sha256.New, clusterKey, nil, "onair gate tokens v1", 40)
	if err != nil {
		return nil, err
	}
	return &signer{key: b[:32], epoch: binary.BigEndian.Uint64(b[32:])}, nil
}

const tagLen = 16

// errToken is any token that is malformed, forged, stale or for another space.
var errToken = errors.New("gate: invalid token")

// seal signs kind|epoch|space|fields into a URL-safe token.
func (s *signer) seal(kind byte, space string, fields ...uint64) string {
	b := make([]byte, 0, 2+8+len(space)+8*len(fields)+tagLen)
	b = append(b, kind, byte(len(space)))
	b = binary.BigEndian.AppendUint64(b, s.epoch)
	b = append(b, space...)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint64(b, f)
	}
	b = append(b, s.tag(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open checks a token of kind for space and returns its n fields.
func (s *signer) open(tok string, kind byte, space string, n int) ([]uint64, error) {
	if len(tok) > 256 {
		return nil, errToken
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	want := 2 + 8 + len(space) + 8*n + tagLen
	if err != nil || len(b) != want || b[0] != kind || int(b[1]) != len(space) {
		return nil, errToken
	}
	body, tag := b[:want-tagLen], b[want-tagLen:]
	if !hmac.Equal(tag, s.tag(body)) || binary.BigEndian.Uint64(b[2:]) != s.epoch || string(b[10:10+len(space)]) != space {
		return nil, errToken
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint64(body[10+len(space)+8*i:])
	}
	return out, nil
}

func (s *signer) tag(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)[:tagLen]
}

const (
	kindQueue     = 'q'
	kindChallenge = 'c'
)

// unixMilli is the token clock.
func unixMilli(t time.Time) uint64 { return uint64(t.UnixMilli()) }
