package control

import (
	"context"
	"fmt"

	"github.com/onair-live/onair/internal/ticket"
)

// wireKey and wireRing are the keyring as stored (inside the seal).
type wireKey struct {
	ID     uint32 `json:"id"`
	Secret []byte `json:"secret"`
}

type wireRing struct {
	Current wireKey   `json:"current"`
	Older   []wireKey `json:"older,omitempty"`
}

// minSecret is the shortest signing key accepted from the bucket.
const minSecret = 16

// PutKeys publishes the origin's ticket keyring, encrypted, so every edge
// verifies every other edge's tickets without a call.
func (p *Plane) PutKeys(kr *ticket.Keyring) error {
	if kr == nil {
		return fmt.Errorf("control: no keyring")
	}
	cur, older := kr.Keys()
	w := wireRing{Current: wireKey(cur)}
	for _, k := range older {
		w.Older = append(w.Older, wireKey(k))
	}
	if _, err := w.keyring(); err != nil {
		return err
	}
	data, err := p.seal.wrap(BucketKeys, keyRing, w, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if _, err := p.keys.Put(ctx, keyRing, data); err != nil {
		return fmt.Errorf("control: put ticket keys: %w", err)
	}
	return nil
}

// keyring checks the stored ring and builds it.
func (w wireRing) keyring() (*ticket.Keyring, error) {
	seen := map[uint32]bool{}
	var older []ticket.Key
	for i, k := range append([]wireKey{w.Current}, w.Older...) {
		if len(k.Secret) < minSecret || seen[k.ID] {
			return nil, drop(reasonMalformed, "ticket key %d: %d-byte secret, or its id twice", k.ID, len(k.Secret))
		}
		seen[k.ID] = true
		if i > 0 {
			older = append(older, ticket.Key(k))
		}
	}
	return ticket.NewKeyring(ticket.Key(w.Current), older...), nil
}

// Keys is the latest keyring seen, nil before the first.
func (p *Plane) Keys() *ticket.Keyring {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ring
}

// OnKeys calls fn with every keyring seen from now on, after calling it
// with the current one if there is one. fn must not call OnKeys or OnSpace.
func (p *Plane) OnKeys(fn func(*ticket.Keyring)) {
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	p.onKeys = append(p.onKeys, fn)
	if kr := p.Keys(); kr != nil {
		fn(kr)
	}
}

func (p *Plane) applyKeys(key string, put bool, value []byte) {
	if !put {
		return // keys are replaced, never taken away: a purge leaves the last ring
	}
	var w wireRing
	err := p.seal.unwrap(BucketKeys, key, value, &w, true)
	if err == nil && key != keyRing {
		err = drop(reasonForeign, "keys under %q", key)
	}
	var kr *ticket.Keyring
	if err == nil {
		kr, err = w.keyring()
	}
	if err != nil {
		p.dropEntry(BucketKeys+"/"+key, err)
		return
	}
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	p.mu.Lock()
	p.ring = kr
	p.checkReady()
	p.mu.Unlock()
	for _, fn := range p.onKeys {
		fn(kr)
	}
}
