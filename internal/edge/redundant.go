package edge

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/internal/access"
	"github.com/onair-live/onair/internal/control"
	"github.com/onair-live/onair/internal/hls"
	"github.com/onair-live/onair/internal/httpapi"
	"github.com/onair-live/onair/internal/web"
)

// A space carried by several edges survives the loss of one: HLS players
// get the same stream once per edge (redundant variants: they switch by
// themselves), and the listener page re-joins on another edge with its
// ticket, a renewal, which is cross-origin and so needs CORS. On one
// process none of this shows: no alternates, the join's HLS URL is the
// media playlist as it always was.

// hlsURL is the join's HLS URL on the edge at base: the media playlist on
// one process, the multivariant playlist of every edge carrying the space
// otherwise.
func hlsURL(base, id, tok string, alternates []string) string {
	name := "/index.m3u8"
	if len(alternates) > 0 {
		name = "/main.m3u8"
	}
	return base + "/hls/" + id + name + "?t=" + url.QueryEscape(tok)
}

// otherEdges are the base URLs of the other edges that may carry space:
// the cluster's healthy edges, most headroom first, when there is a
// control plane; the configured alternates otherwise (none on one process).
func (s *Edge) otherEdges(space string) []string {
	if s.plane == nil {
		if s.cfg.Alternates == nil {
			return nil
		}
		return s.cfg.Alternates(space)
	}
	rs := s.edges()
	slices.SortStableFunc(rs, func(a, b control.Report) int { return cmp.Compare(control.Headroom(b), control.Headroom(a)) })
	var out []string
	for _, r := range rs {
		if u := strings.TrimRight(r.PublicURL, "/"); u != s.cfg.PublicURL && control.Headroom(r) > 0 {
			out = append(out, u)
		}
	}
	return out
}

// handleMultivariant serves /hls/{id}/main.m3u8: the space's media
// playlist on this edge first, then on each alternate edge, each with the
// listener's ticket (keys are shared: it opens them all). The answer is the
// listener's own, so shared caches must not keep it ("private"); it is
// asked once per player, not once per part.
func (s *Edge) handleMultivariant(w http.ResponseWriter, r *http.Request) {
	hlsHeaders(w)
	w = s.counted(w, "multivariant")
	id := r.PathValue("id")
	if _, ok := s.CheckTicketAt(w, r, id, time.Now().Add(-access.HLSGrace)); !ok {
		return
	}
	q := "/hls/" + id + "/index.m3u8?t=" + url.QueryEscape(access.RequestTicket(r, id))
	uris := []string{s.cfg.PublicURL + q}
	for _, base := range s.otherEdges(id) {
		uris = append(uris, strings.TrimRight(base, "/")+q)
	}
	pl, err := hls.Multivariant(s.hub.Config().HLS.ProgramBandwidth(s.bitrate()), uris)
	if err != nil { // an alternate's base URL that cannot be a URI line: a config mistake
		s.log.Error("multivariant playlist", "space", id, "err", err)
		httpapi.WriteError(w, http.StatusInternalServerError, "bad_alternate", "an alternate edge's URL is not usable")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	h.Set("Cache-Control", "private, max-age=5")
	h.Set("Content-Length", strconv.Itoa(len(pl)))
	_, _ = w.Write(pl)
}

// bitrate is the program's bit/s (the mixer's default when unset).
func (s *Edge) bitrate() int {
	if s.cfg.Bitrate > 0 {
		return s.cfg.Bitrate
	}
	return 48000
}

// joinCORS lets a listener page from another edge of the space renew its
// ticket here: a POST with the Onair-Ticket header from an allowed origin
// may read the answer. Nothing else of the join is cross-origin.
func (s *Edge) joinCORS(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin, ok := s.pageOrigin(r); ok && r.Header.Get("Onair-Ticket") != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
		}
		next(w, r)
	}
}

// handleJoinPreflight answers the browser's CORS preflight of a renewal.
func (s *Edge) handleJoinPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin, ok := s.pageOrigin(r)
	if !ok || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		httpapi.WriteError(w, http.StatusForbidden, "cors", "cross-origin joins are for the space's other edges' pages")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Onair-Ticket")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// pageOrigin is the request's Origin when it is one of the space's other
// edges: where a listener page that fails over comes from.
func (s *Edge) pageOrigin(r *http.Request) (string, bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return "", false
	}
	return origin, slices.Contains(originsOf(s.otherEdges(r.PathValue("id"))), origin)
}

// originsOf are the origins (scheme://host[:port]) of http(s) base URLs,
// skipping any that is not one.
func originsOf(bases []string) []string {
	var out []string
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;,'\"") {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// spacePolicy is the listener page's policy for space id: it may also
// fetch from and play the media of the space's other edges, where it goes
// when its own edge goes away.
func (s *Edge) spacePolicy(id string) web.Policy {
	p := web.Public
	if alts := strings.Join(originsOf(s.otherEdges(id)), " "); alts != "" {
		// The page's own policy, widened for fetches (join, stage, hls.js)
		// and media (the Ogg stream) only: scripts stay this origin's.
		p.CSP = strings.Replace(web.PageCSP, "media-src 'self' blob:",
			"connect-src 'self' "+alts+"; media-src 'self' blob: "+alts, 1)
	}
	return p
}
