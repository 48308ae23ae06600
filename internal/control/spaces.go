package control

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/onair-live/onair/internal/store"
)

// writeTimeout bounds one KV write: long enough for a stream leader to be
// re-elected after a NATS server went, short enough to report a failure.
const writeTimeout = 10 * time.Second

// PutSpace writes sp for every node to see, without its secrets (the host
// token hash stays in the origin's store). The origin calls it after every
// change of a space.
func (p *Plane) PutSpace(sp store.Space) error {
	if !validName(sp.ID) { // never for ids the store makes
		return fmt.Errorf("control: space id %q: want 1 to 64 of a-z A-Z 0-9 - _", sp.ID)
	}
	sp.HostTokenHash = ""
	data, err := p.seal.wrap(BucketSpaces, sp.ID, sp, false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if _, err := p.spaces.Put(ctx, sp.ID, data); err != nil {
		return fmt.Errorf("control: put space %s: %w", sp.ID, err)
	}
	return nil
}

// Space returns the space with id as last seen, or store.ErrNotFound.
func (p *Plane) Space(id string) (store.Space, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sp, ok := p.spaceCache[id]
	if !ok {
		return store.Space{}, store.ErrNotFound
	}
	return sp, nil
}

// Spaces lists the known spaces as store.Spaces() does: soonest start
// first (ties by id).
func (p *Plane) Spaces() ([]store.Space, error) {
	p.mu.Lock()
	out := make([]store.Space, 0, len(p.spaceCache))
	for _, sp := range p.spaceCache {
		out = append(out, sp)
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b store.Space) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// OnSpace calls fn for every change of a space seen from now on, after
// calling it once for each space known now. Calls come one at a time, in
// the order the changes were seen; fn must not call OnSpace or OnKeys.
func (p *Plane) OnSpace(fn func(store.Space)) {
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	p.onSpace = append(p.onSpace, fn)
	known, _ := p.Spaces()
	for _, sp := range known {
		fn(sp)
	}
}

// applySpace takes an entry of the bucket into the cache and tells the
// callbacks.
func (p *Plane) applySpace(key string, put bool, value []byte) {
	if !put {
		p.mu.Lock()
		delete(p.spaceCache, key)
		p.mu.Unlock()
		return
	}
	var sp store.Space
	err := p.seal.unwrap(BucketSpaces, key, value, &sp, false)
	if err == nil {
		err = checkSpace(key, sp)
	}
	if err != nil {
		p.dropEntry(BucketSpaces+"/"+key, err)
		return
	}
	p.cbMu.Lock()
	defer p.cbMu.Unlock()
	p.mu.Lock()
	p.spaceCache[sp.ID] = sp
	p.mu.Unlock()
	for _, fn := range p.onSpace {
		fn(sp)
	}
}

// checkSpace refuses a signed space that still would not be one: under
// another id, in no known state, or carrying a secret.
func checkSpace(key string, sp store.Space) error {
	switch {
	case sp.ID != key:
		return drop(reasonForeign, "space %q under key %q", sp.ID, key)
	case sp.State != store.Scheduled && sp.State != store.Live && sp.State != store.Ended:
		return drop(reasonMalformed, "space %s in state %q", sp.ID, sp.State)
	case sp.HostTokenHash != "":
		return drop(reasonMalformed, "space %s carries a host token hash", sp.ID)
	}
	return nil
}

func (p *Plane) spacesLoaded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spacesIn = true
	p.checkReady()
}

// validName: a space id or node name usable as a KV key and as one
// subject token.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
