package origin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/store"
)

// An origin of a cluster is active or standing by: one holds the KV lease
// (control.Lease) and does what only the active origin does; the others
// record its shows from the bus, refuse the host port's requests with a
// 503 naming the active one, and take over when its lease expires.

// RoleStandby is how a standing-by origin names itself in load reports.
const RoleStandby = "standby"

// election is a clustered origin's part in choosing the active one.
type election struct {
	lease    *control.Lease
	mirror   *control.Mirror
	active   atomic.Bool
	fenced   chan struct{}                    // closed when this origin lost the lease it held
	origins  atomic.Pointer[[]control.Origin] // every origin that named itself (followOrigins)
	fenceOne sync.Once
}

// clusteredOrigin: an origin of a cluster, which waits for the lease
// before it takes its shows on.
func (s *Origin) clusteredOrigin() bool { return s.cfg.Clustered && s.plane != nil }

// Fenced is closed when this origin was active and lost its lease: it must
// stop mixing at once (another origin takes over), without ending its
// shows; `onair serve` exits. Never closed on other nodes.
func (s *Origin) Fenced() <-chan struct{} {
	if s.elect.fenced == nil {
		return nil
	}
	return s.elect.fenced
}

// Active reports whether this node does what an active origin does: always
// on one process; for a clustered origin, while it holds the lease.
func (s *Origin) Active() bool { return !s.clusteredOrigin() || s.elect.active.Load() }

// OpenElection binds the lease and the mirror (at New, so the host port's
// guard has them from its first request).
func (s *Origin) OpenElection() error {
	var err error
	if s.elect.lease, err = s.plane.OpenLease(leaseName(s.nodeName()), s.cfg.HostURL, s.cfg.LeaseTTL); err != nil {
		return err
	}
	if s.elect.mirror, err = s.plane.OpenMirror(); err != nil {
		return err
	}
	s.elect.fenced = make(chan struct{})
	return nil
}

// RunElection takes part in the election and stands by until this origin
// holds the lease.
func (s *Origin) RunElection(ctx context.Context) {
	go s.followOrigins(ctx)
	sctx, stopShadowing := context.WithCancel(ctx)
	// A lone origin (or the first) is active before Serve returns, as one
	// without a standby always was.
	if s.elect.lease.Take(ctx) {
		stopShadowing()
		s.takeOver(ctx)
	} else {
		go s.shadowShows(sctx)
	}
	go func() {
		err := s.elect.lease.Run(ctx, func() {
			stopShadowing()
			go s.takeOver(ctx)
		}, s.standbySeen)
		if errors.Is(err, control.ErrLeaseLost) {
			s.elect.active.Store(false)
			s.elect.fenceOne.Do(func() { close(s.elect.fenced) })
		}
	}()
}

// standbySeen reports whether another origin stands by (its load report is
// fresh): only then must an active origin whose renewals stall step down.
// A lone origin rides out a NATS fault on air.
func (s *Origin) standbySeen() bool {
	me := s.nodeName()
	for _, r := range s.plane.Reports() {
		if r.Role == RoleStandby && r.Node != me {
			return true
		}
	}
	return false
}

// leaseName makes a node name a lease holder's (no dots or colons).
func leaseName(n string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, n)
}

// shadowShows records every live show of the active origin from the bus
// while this origin stands by.
func (s *Origin) shadowShows(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		spaces, _ := s.plane.Spaces()
		for _, sp := range spaces {
			if sp.State == store.Live {
				if err := s.mgr.Shadow(sp.ID); err != nil {
					s.log.Warn("standby: cannot record the show", "space", sp.ID, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takeOver makes this origin the active one: the active one's spaces,
// invites and keys into its store, its shows resumed from the recordings
// made standing by, then what only the active origin runs.
func (s *Origin) takeOver(ctx context.Context) {
	start := time.Now()
	s.mgr.StopShadows()
	if err := s.importActive(ctx); err != nil {
		s.log.Error("takeover: the active origin's state", "err", err)
	}
	if err := s.mgr.Recover(); err != nil {
		s.log.Error("takeover: resume the shows", "err", err)
	}
	if err := s.startOrigin(ctx); err != nil {
		s.log.Error("takeover: start the origin's loops", "err", err)
	}
	go s.syncMirror(ctx)
	if err := s.mgr.ArmSchedules(); err != nil {
		s.log.Error("takeover: arm auto-starts", "err", err)
	}
	s.elect.active.Store(true)
	s.log.Info("origin active", "node", s.nodeName(), "took", time.Since(start))
}

// importActive copies the mirrored spaces and invites into the store and
// adopts the cluster's ticket keys. The first origin of a cluster finds
// nothing and keeps its own.
func (s *Origin) importActive(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kr, err := s.plane.StoredKeys(lctx)
	if err != nil {
		return err
	}
	if kr != nil {
		if err := s.st.SetTicketKeys(kr); err != nil {
			return err
		}
		s.SetKeys(kr)
	}
	spaces, invites, err := s.elect.mirror.Load(lctx)
	if err != nil {
		return err
	}
	for _, sp := range spaces {
		if err := s.st.Import(sp); err != nil {
			return err
		}
	}
	for _, inv := range invites {
		if err := s.st.ImportInvite(inv); err != nil {
			return err
		}
	}
	s.log.Info("takeover: state imported", "spaces", len(spaces), "invites", len(invites), "cluster_keys", kr != nil)
	return nil
}

// syncMirror writes every space and invite that changed to the origins'
// mirror, for a standby to take over with.
func (s *Origin) syncMirror(ctx context.Context) {
	sent := map[string]store.Space{}
	sentInv := map[string]store.Invite{}
	t := time.NewTicker(spaceSyncEvery)
	defer t.Stop()
	for {
		spaces, _ := s.st.Spaces()
		for _, sp := range spaces {
			if old, ok := sent[sp.ID]; ok && old == sp {
				continue
			}
			if err := s.elect.mirror.PutSpace(sp); err == nil {
				sent[sp.ID] = sp
			}
		}
		invites, _ := s.st.AllInvites()
		for _, inv := range invites {
			if old, ok := sentInv[inv.TokenHash]; ok && old == inv {
				continue
			}
			if err := s.elect.mirror.PutInvite(inv); err == nil {
				sentInv[inv.TokenHash] = inv
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// standbyGuard answers the host port's requests of a standing-by origin
// with 503, naming the active origin (speakers' retry loops alternate
// origins until one takes them); /healthz and /metrics answer as usual.
func (s *Origin) standbyGuard(next http.Handler) http.Handler {
	if !s.clusteredOrigin() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.elect.active.Load() || r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		h, known := s.elect.lease.Active()
		if r.URL.Path == "/healthz" {
			httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "standby", "role": "origin", "active": h.HostURL})
			return
		}
		msg := "this origin is a standby: no active origin is known yet, try again shortly"
		if known {
			msg = "this origin is a standby: the active origin is " + h.Node + " at " + h.HostURL
			w.Header().Set("Onair-Active-Origin", h.HostURL)
		}
		w.Header().Set("Retry-After", "1")
		httpapi.WriteError(w, http.StatusServiceUnavailable, "standby", msg)
	})
}
