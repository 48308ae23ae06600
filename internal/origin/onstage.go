package origin

import (
	"errors"
	"sync"

	"github.com/onair-live/onair/internal/mix"
	"github.com/onair-live/onair/internal/store"
)

// errSeatTaken refuses a name held on stage by a stronger role: a speaker
// connecting as "host" would otherwise replace the host's audio.
var errSeatTaken = errors.New("that name is on stage under a stronger role: pick another name")

// errRevoked refuses a token revoked while it was connecting.
var errRevoked = errors.New("this token was revoked")

// onStage records who came on stage with which token, so revoking an
// invite cuts exactly its connections, a removal can tell the host from
// the others, and the stage document can show each speaker's role.
type onStage struct {
	mu sync.Mutex
	m  map[string]map[string]seat // space → speaker name → seat
}

// seat is one speaker on stage and the token it came with.
type seat struct {
	role   store.Role
	invite string // invite id; "" for the host token or admin key
	spk    *mix.Speaker
}

func newOnStage() *onStage { return &onStage{m: make(map[string]map[string]seat)} }

// attach seats name in space through open (which attaches the speaker to
// the mixer), unless a stronger role holds the name.
func (o *onStage) attach(space, name string, c caller, open func() (*mix.Speaker, error)) (*mix.Speaker, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur, ok := o.m[space][name]; ok && rank(cur.role) > rank(c.Role) {
		return nil, errSeatTaken
	}
	spk, err := open()
	if err != nil {
		return nil, err
	}
	if o.m[space] == nil {
		o.m[space] = make(map[string]seat)
	}
	o.m[space][name] = seat{role: c.Role, invite: c.Invite.ID, spk: spk}
	go o.release(space, name, spk)
	return spk, nil
}

// release frees the seat once its speaker has left the mix.
func (o *onStage) release(space, name string, spk *mix.Speaker) {
	<-spk.Done()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m[space][name].spk == spk {
		delete(o.m[space], name)
		if len(o.m[space]) == 0 {
			delete(o.m, space)
		}
	}
}

// seat returns who holds name in space.
func (o *onStage) seat(space, name string) (seat, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	st, ok := o.m[space][name]
	return st, ok
}

// roles maps the speakers on stage in space to their roles.
func (o *onStage) roles(space string) map[string]store.Role {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]store.Role, len(o.m[space]))
	for name, st := range o.m[space] {
		out[name] = st.role
	}
	return out
}

// cut takes every speaker that came with invite off the stage and returns
// how many there were. Their ingest or WHIP sessions end with them.
func (o *onStage) cut(space, invite string) int {
	o.mu.Lock()
	var gone []*mix.Speaker
	for _, st := range o.m[space] {
		if st.invite == invite {
			gone = append(gone, st.spk)
		}
	}
	o.mu.Unlock()
	for _, spk := range gone {
		spk.Remove()
	}
	return len(gone)
}
