// Package ticket issues and verifies signed join tickets: a listener's proof
// that it joined a space, checked with one HMAC and no store lookup.
package ticket

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Verification failures. Every one of them means "do not serve".
var (
	ErrMalformed  = errors.New("ticket: malformed")
	ErrUnknownKey = errors.New("ticket: unknown signing key")
	ErrForged     = errors.New("ticket: bad signature")
	ErrExpired    = errors.New("ticket: expired")
	ErrWrongSpace = errors.New("ticket: issued for another space")
)

const (
	version = 1
	macLen  = 16 // truncated HMAC-SHA256: 128 bits is ample for a minutes-long ticket
	// fixed part: version, key id, expiry, listener id, space id length
	headLen  = 1 + 4 + 8 + 8 + 1
	maxSpace = 64
	// MaxLen bounds the encoded size, so callers can reject longer input unread.
	MaxLen = (headLen + maxSpace + macLen + 2) * 4 / 3
)

// Key is one HMAC signing key; ID travels in the ticket so keys can rotate.
type Key struct {
	ID     uint32
	Secret []byte
}

// NewKey returns a fresh random 256-bit key with the given id.
func NewKey(id uint32) Key {
	k := Key{ID: id, Secret: make([]byte, 32)}
	if _, err := rand.Read(k.Secret); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k
}

// Claims is what a valid ticket asserts.
type Claims struct {
	KeyID    uint32
	Space    string
	Listener uint64 // random per join: lets later stages count distinct listeners
	Expires  time.Time
}

// Keyring signs with its current key and verifies with any key it holds.
// It is immutable after construction and safe for concurrent use.
type Keyring struct {
	current Key
	keys    map[uint32][]byte
}

// NewKeyring signs with current and also accepts tickets signed by older keys.
func NewKeyring(current Key, older ...Key) *Keyring {
	kr := &Keyring{current: current, keys: map[uint32][]byte{current.ID: current.Secret}}
	for _, k := range older {
		kr.keys[k.ID] = k.Secret
	}
	return kr
}

// Issue signs a ticket for space valid for ttl from now.
func (kr *Keyring) Issue(space string, ttl time.Duration, now time.Time) (string, Claims, error) {
	var lid [8]byte
	if _, err := rand.Read(lid[:]); err != nil {
		return "", Claims{}, err
	}
	return kr.Renew(Claims{Space: space, Listener: binary.BigEndian.Uint64(lid[:])}, ttl, now)
}

// Renew signs a new ticket for the listener and space of c, valid for ttl
// from now: the same listener keeps its identity across renewals.
func (kr *Keyring) Renew(c Claims, ttl time.Duration, now time.Time) (string, Claims, error) {
	space := c.Space
	if space == "" || len(space) > maxSpace {
		return "", Claims{}, fmt.Errorf("ticket: space id length %d out of range", len(space))
	}
	c = Claims{KeyID: kr.current.ID, Space: space, Listener: c.Listener, Expires: now.Add(ttl).Truncate(time.Second)}
	buf := make([]byte, 0, headLen+len(space)+macLen)
	buf = append(buf, version)
	buf = binary.BigEndian.AppendUint32(buf, c.KeyID)
	buf = binary.BigEndian.AppendUint64(buf, uint64(c.Expires.Unix()))
	buf = binary.BigEndian.AppendUint64(buf, c.Listener)
	buf = append(buf, byte(len(space)))
	buf = append(buf, space...)
	buf = append(buf, sign(kr.current.Secret, buf)...)
	return base64.RawURLEncoding.EncodeToString(buf), c, nil
}

// Verify checks tok for space at time now. The signature is checked before
// any claim is trusted, so a forged ticket learns nothing about the others.
func (kr *Keyring) Verify(tok, space string, now time.Time) (Claims, error) {
	if len(tok) > MaxLen {
		return Claims{}, ErrMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < headLen+macLen || raw[0] != version {
		return Claims{}, ErrMalformed
	}
	n := int(raw[headLen-1])
	if n == 0 || len(raw) != headLen+n+macLen {
		return Claims{}, ErrMalformed
	}
	kid := binary.BigEndian.Uint32(raw[1:5])
	secret, ok := kr.keys[kid]
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	body, mac := raw[:headLen+n], raw[headLen+n:]
	if !hmac.Equal(mac, sign(secret, body)) {
		return Claims{}, ErrForged
	}
	c := Claims{
		KeyID:    kid,
		Expires:  time.Unix(int64(binary.BigEndian.Uint64(raw[5:13])), 0),
		Listener: binary.BigEndian.Uint64(raw[13:21]),
		Space:    string(raw[headLen : headLen+n]),
	}
	if c.Space != space {
		return c, ErrWrongSpace
	}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func sign(secret, msg []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(msg)
	return h.Sum(nil)[:macLen]
}

// Keys returns the signing key and the others it verifies with, older
// ones by id: what an origin ships to the edges.
func (kr *Keyring) Keys() (current Key, older []Key) {
	for id, s := range kr.keys {
		if id != kr.current.ID {
			older = append(older, Key{ID: id, Secret: s})
		}
	}
	slices.SortFunc(older, func(a, b Key) int { return cmp.Compare(a.ID, b.ID) })
	return kr.current, older
}
