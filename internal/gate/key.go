package gate

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Source is where a request comes from: its address and its network
// prefix (/24 for IPv4, /48 for IPv6), the unit botnets and CGNATs share.
type Source struct {
	Addr   netip.Addr
	Prefix netip.Prefix
}

// SourceOf parses a remote address ("ip:port").
func SourceOf(remote string) Source {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return Source{}
	}
	// A zone (fe80::1%eth0) names the local interface, not the peer: keyed
	// with it, the address would lie outside its own prefix and a trusted
	// proxy's link-local address would never match (found by fuzzing).
	a = a.Unmap().WithZone("")
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, _ := a.Prefix(bits)
	return Source{Addr: a, Prefix: p}
}

// RequestSource is the source of r: its peer, or the address a trusted
// proxy (a cache or load balancer of one's own) says it forwarded for.
// Anyone else's X-Forwarded-For is ignored, or anyone could pick their own
// rate-limit key.
func RequestSource(r *http.Request, trustedProxies []netip.Prefix) Source {
	src := SourceOf(r.RemoteAddr)
	if !trusted(src.Addr, trustedProxies) {
		return src
	}
	xff := r.Header.Get("X-Forwarded-For")
	if i := strings.LastIndexByte(xff, ','); i >= 0 {
		xff = xff[i+1:]
	}
	if fwd := SourceOf(strings.TrimSpace(xff)); fwd.Addr.IsValid() {
		return fwd
	}
	return src
}

func trusted(a netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
