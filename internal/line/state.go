package line

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/onair-live/onair/internal/gate"
)

// With a JetStream KV bucket (KeeperConfig.State), the keeper saves each
// line's counters every period, so a keeper that takes over (the standby
// origin, on a failover) resumes every line where it stood, under the same
// tag: each waiter keeps its place. The value, under the key
// base64url(space):
//
//	version tag(u64) next(u64) served(u64) settled(u64) pace(u32) mac(16)
//
// settled is the served mark a minute or more before: places below it are
// taken as claimed (nobody honest comes back that late), those above it
// as not, so a served token may admit once more at an edge it was not
// used at. pace is the places drawn in the last period: the resumed line
// skips twice as many, plus 8, so the places drawn after the last save
// are never drawn twice (the places skipped are unclaimed and passed on).
const (
	stateVersion = 1
	stateLen     = 1 + 8*4 + 4 + macLen
	// maxSaves bounds the lines saved in one period.
	maxSaves = 256
	// loadWait bounds the reading of the saved lines at start.
	loadWait = 5 * time.Second
)

type lineState struct {
	tag, next, served, settled uint64
	pace                       uint32
}

var errState = errors.New("line: saved line state malformed or not the cluster's")

func stateKey(space string) string { return base64.RawURLEncoding.EncodeToString([]byte(space)) }

func appendState(dst []byte, m *macer, key string, s lineState) []byte {
	start := len(dst)
	dst = append(dst, stateVersion)
	for _, v := range []uint64{s.tag, s.next, s.served, s.settled} {
		dst = binary.BigEndian.AppendUint64(dst, v)
	}
	dst = binary.BigEndian.AppendUint32(dst, s.pace)
	return append(dst, m.sum([]byte("state "+key), dst[start:])...)
}

// decodeState parses and checks a saved line's counters.
func decodeState(m *macer, key string, b []byte) (lineState, error) {
	if len(b) != stateLen || b[0] != stateVersion {
		return lineState{}, errState
	}
	body := b[:stateLen-macLen]
	if !hmac.Equal(m.sum([]byte("state "+key), body), b[stateLen-macLen:]) {
		return lineState{}, errState
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[1+8*i:]) }
	s := lineState{tag: u(0), next: u(1), served: u(2), settled: u(3), pace: binary.BigEndian.Uint32(b[33:])}
	if s.tag&seqMask != 0 || s.tag&keptBit == 0 || s.next > seqMask/2 || s.served > s.next || s.settled > s.served {
		return lineState{}, errState
	}
	return s, nil
}

// load resumes the lines saved in the bucket; an unreadable bucket starts
// the lines anew (logged). A watcher can say it has every value before
// the last of them came (a bucket replicated, and just written), so values
// are awaited up to the count the bucket's leader gives, for a while.
func (k *Keeper) load(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), loadWait)
	defer cancel()
	var want uint64
	if st, err := k.cfg.State.Status(ctx); err == nil {
		want = st.Values()
	}
	w, err := k.cfg.State.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		k.cfg.Log.Warn("line: saved lines unreadable; starting them anew", "err", err)
		return
	}
	defer func() { _ = w.Stop() }()
	var got uint64
	var straggle <-chan time.Time // after the watcher's "all in", how long to wait for the rest
	for {
		select {
		case <-ctx.Done():
			k.cfg.Log.Warn("line: saved lines not all read in time", "resumed", len(k.lines))
			return
		case <-straggle:
			k.cfg.Log.Info("line: resumed the saved lines", "lines", len(k.lines), "values", got, "bucket_values", want)
			return
		case e := <-w.Updates():
			if e != nil {
				k.resume(e.Key(), e.Value(), now)
				got++
			} else if straggle == nil {
				straggle = time.After(time.Second)
			}
			if straggle != nil && got >= want {
				k.cfg.Log.Info("line: resumed the saved lines", "lines", len(k.lines))
				return
			}
		}
	}
}

func (k *Keeper) resume(key string, value []byte, now time.Time) {
	sp, err := base64.RawURLEncoding.DecodeString(key)
	st, serr := decodeState(k.mac, key, value)
	if err != nil || serr != nil || !subjectToken(string(sp)) || len(k.lines) >= k.cfg.MaxSpaces {
		drop("bad_state")
		return
	}
	l := &spaceLine{tagged: tagged{adm: gate.NewAdmission(k.cfg.Admit, now), tag: st.tag}, used: now}
	l.adm.Resume(st.next+2*uint64(st.pace)+8, st.served)
	l.adm.SetRate(k.share)
	l.adm.Pause(k.full)
	l.claimed.forget(st.settled)
	l.saved = st
	l.drawn, _ = l.adm.Mark(now)
	k.lines[string(sp)] = l
	metricResumed.Inc()
}

// saves are the lines to save this period: the ones that moved, people
// waiting first. Under k.mu.
func (k *Keeper) saves(now time.Time) map[string][]byte {
	out := map[string][]byte{}
	for _, waiting := range []bool{true, false} {
		for space, l := range k.lines {
			if len(out) >= maxSaves {
				return out
			}
			if (l.adm.Waiting() > 0) != waiting {
				continue
			}
			next, served := l.adm.Mark(now)
			if next == l.saved.next && served == l.saved.served {
				continue
			}
			st := lineState{tag: l.tag, next: next, served: served, settled: l.settled(now), pace: uint32(min(l.pace, 1<<32-1))}
			key := stateKey(space)
			out[key] = appendState(nil, k.mac, key, st)
			l.saved = st
		}
	}
	return out
}

// save writes the lines' counters, outside the keeper's lock.
func (k *Keeper) save(puts map[string][]byte) {
	for key, v := range puts {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := k.cfg.State.Put(ctx, key, v)
		cancel()
		if err != nil {
			metricSaveErrors.Inc()
			k.cfg.Log.Warn("line: saving a line's counters failed", "err", err)
			return // the rest next period
		}
	}
}
