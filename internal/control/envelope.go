package control

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// entryVersion is the envelope format; a node that meets another drops it.
const entryVersion = 1

// minClusterKey is the shortest cluster key accepted: 128 bits.
const minClusterKey = 16

// Why an entry was dropped (the reason label of onair_control_dropped_total).
const (
	reasonMalformed = "malformed" // not JSON, or a body that does not parse or check
	reasonVersion   = "version"   // an envelope version this node does not know
	reasonForged    = "forged"    // a MAC (or seal) that the cluster key does not make
	reasonForeign   = "foreign"   // valid, but about another key than the one it sits under
)

// dropError carries the reason an entry is not trusted.
type dropError struct {
	reason string
	err    error
}

func (e *dropError) Error() string { return fmt.Sprintf("control: %s entry: %v", e.reason, e.err) }

func drop(reason string, format string, a ...any) error {
	return &dropError{reason: reason, err: fmt.Errorf(format, a...)}
}

// envelope is every value the plane writes: the body, bound by an HMAC to
// the bucket and key it was written under, so an entry copied elsewhere
// or written without the cluster key is refused.
type envelope struct {
	V    int    `json:"v"`
	Body []byte `json:"body"`
	MAC  []byte `json:"mac"`
}

// sealer signs and checks envelopes, and encrypts bodies that hold secrets
// (the ticket keys), with keys derived from the cluster key.
type sealer struct {
	mac  []byte
	aead cipher.AEAD
}

func newSealer(clusterKey []byte) (*sealer, error) {
	if len(clusterKey) < minClusterKey {
		return nil, fmt.Errorf("control: cluster key of %d bytes, want at least %d", len(clusterKey), minClusterKey)
	}
	macKey, err := hkdf.Key(sha256.New, clusterKey, nil, "onair control mac v1", 32)
	if err != nil {
		return nil, err
	}
	encKey, err := hkdf.Key(sha256.New, clusterKey, nil, "onair control seal v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{mac: macKey, aead: aead}, nil
}

func (s *sealer) sum(bucket, key string, body []byte) []byte {
	h := hmac.New(sha256.New, s.mac)
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}

// wrap marshals v into a signed envelope for bucket/key; secret bodies
// are encrypted first, with bucket/key as associated data.
func (s *sealer) wrap(bucket, key string, v any, secret bool) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if secret {
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		body = s.aead.Seal(nonce, nonce, body, []byte(bucket+"\x00"+key))
	}
	return json.Marshal(envelope{V: entryVersion, Body: body, MAC: s.sum(bucket, key, body)})
}

// unwrap checks an envelope written under bucket/key and decodes its body
// into v. Every failure is a *dropError.
func (s *sealer) unwrap(bucket, key string, data []byte, v any, secret bool) error {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return drop(reasonMalformed, "%v", err)
	}
	if env.V != entryVersion {
		return drop(reasonVersion, "version %d, want %d", env.V, entryVersion)
	}
	if !hmac.Equal(env.MAC, s.sum(bucket, key, env.Body)) {
		return drop(reasonForged, "bad MAC for %s/%s", bucket, key)
	}
	body := env.Body
	if secret {
		n := s.aead.NonceSize()
		if len(body) < n {
			return drop(reasonMalformed, "sealed body of %d bytes", len(body))
		}
		var err error
		if body, err = s.aead.Open(nil, body[:n], body[n:], []byte(bucket+"\x00"+key)); err != nil {
			return drop(reasonForged, "seal: %v", err)
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return drop(reasonMalformed, "body: %v", err)
	}
	return nil
}

// reasonOf is the drop reason of err (malformed for any other error).
func reasonOf(err error) string {
	var d *dropError
	if errors.As(err, &d) {
		return d.reason
	}
	return reasonMalformed
}
