package origin

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/web"
)

// The studio page follows the show to another origin by itself when its
// own dies: it learns every origin's host URL here (GET /api/v1/origins),
// may fetch from them (its CSP's connect-src names them) and they let it
// in (CORS on the host port, for the pages of the cluster's other origins
// only, and only on what the studio uses: WHIP, /healthz, the origins and
// the space's own API). One process has one origin: none of this shows.

// followOrigins names this origin in the origins' bucket and keeps the list
// of every origin (one watch), while ctx lasts.
func (s *Origin) followOrigins(ctx context.Context) {
	me := control.Origin{Node: leaseName(s.nodeName()), HostURL: s.cfg.HostURL}
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := s.elect.mirror.PutOrigin(me)
		if err == nil {
			break
		}
		s.log.Warn("origins: cannot name this origin", "host_url", me.HostURL, "err", err)
		if !sleepCtx(ctx, wait) {
			return
		}
	}
	for ctx.Err() == nil {
		err := s.elect.mirror.WatchOrigins(ctx, func(l []control.Origin) { s.elect.origins.Store(&l) })
		if ctx.Err() == nil {
			s.log.Debug("origins: watch", "err", err)
			sleepCtx(ctx, time.Second)
		}
	}
}

// sleepCtx waits d, or less when ctx ends first (false then).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// originList is every origin known, this one first.
func (s *Origin) originList() []control.Origin {
	me := control.Origin{Node: leaseName(s.nodeName()), HostURL: s.cfg.HostURL}
	out := []control.Origin{me}
	if !s.clusteredOrigin() {
		return out
	}
	if p := s.elect.origins.Load(); p != nil {
		for _, o := range *p {
			if o.Node != me.Node && o.HostURL != me.HostURL {
				out = append(out, o)
			}
		}
	}
	return out
}

// otherOrigins are the web origins (scheme://host:port) of the other
// origins' host ports: the pages that may call this one cross-origin.
func (s *Origin) otherOrigins() []string {
	own, _ := control.HostOrigin(s.cfg.HostURL)
	var out []string
	for _, o := range s.originList()[1:] {
		if w, err := control.HostOrigin(o.HostURL); err == nil && w != own && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// handleOrigins answers GET /api/v1/origins: where the studio page may go
// when this origin goes away.
func (s *Origin) handleOrigins(w http.ResponseWriter, _ *http.Request) {
	type origin struct {
		Node    string `json:"node"`
		HostURL string `json:"host_url"`
		Active  bool   `json:"active"`
	}
	list := []origin{}
	for i, o := range s.originList() {
		list = append(list, origin{Node: o.Node, HostURL: strings.TrimRight(o.HostURL, "/"), Active: i == 0 && s.Active()})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"origins": list})
}

// studioPolicy is the studio page's policy: the host pages' own, and on a
// cluster with other origins, fetches to them too (scripts stay this
// origin's).
func (s *Origin) studioPolicy() web.Policy {
	p := web.Host
	p.Permissions = studioPermissions
	if others := s.otherOrigins(); len(others) > 0 {
		p.CSP = web.StudioCSP + "; connect-src 'self' " + strings.Join(others, " ")
	}
	return p
}

// corsPath reports whether a path is one the studio page calls on another
// origin once it moved there: nothing else of the host port is
// cross-origin.
func corsPath(p string) bool {
	return p == "/healthz" || p == "/api/v1/origins" || strings.HasPrefix(p, "/whip/") || strings.HasPrefix(p, "/api/v1/spaces/")
}

// originCORS lets the studio pages of the cluster's other origins call this
// host port (it wraps the standby guard: a standby's 503 naming the active
// origin is readable too). A preflight from any other origin is refused;
// other cross-origin requests go on as before, unreadable to the page.
func (s *Origin) originCORS(next http.Handler) http.Handler {
	if !s.clusteredOrigin() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !corsPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := slices.Contains(s.otherOrigins(), origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		switch {
		case preflight && !allowed:
			httpapi.WriteError(w, http.StatusForbidden, "cors", "cross-origin calls to this host port are for the studio pages of this cluster's other origins")
		case preflight:
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, PATCH")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		default:
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", "Location, Onair-Active-Origin, Retry-After")
			}
			next.ServeHTTP(w, r)
		}
	})
}
