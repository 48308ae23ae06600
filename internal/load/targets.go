package load

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Where listeners connect: the --target edges (joins spread round-robin
// over them), and the other edges a join answer sends them to (the media
// URL of the edge with the most headroom, a 307 to another edge, the
// alternates to fail over to). Every host is checked like --target before
// a listener connects to it: loopback only, unless --allow-remote.

// maxTargets bounds --target, and the alternates a listener keeps.
const maxTargets = 64

// target is one server the load generator connects to.
type target struct {
	addr string // host:port to dial
	host string // Host header
	path string // --url: the stream's path and query, asked for without joining
}

// base is the target's base URL.
func (t target) base() string { return "http://" + t.host }

// parseTargets parses the comma-separated --target URLs, checking each;
// it returns them and their normalized spelling.
func parseTargets(s string, allowRemote bool) ([]target, string, error) {
	var out []target
	var norm []string
	seen := map[string]bool{}
	for one := range strings.SplitSeq(s, ",") {
		one = strings.TrimSpace(one)
		if one == "" {
			continue
		}
		if !strings.Contains(one, "://") {
			one = "http://" + one
		}
		t, err := parseBase(one)
		if err != nil {
			return nil, "", UsageError{fmt.Errorf("--target %q: %w", one, err)}
		}
		if err := checkHost(t.host, allowRemote); err != nil {
			err = fmt.Errorf("--target %s: %w", one, err)
			if errors.As(err, new(UsageError)) {
				err = UsageError{err}
			}
			return nil, "", err
		}
		if seen[t.addr] {
			return nil, "", usagef("--target %s is given twice", t.host)
		}
		seen[t.addr] = true
		out = append(out, t)
		norm = append(norm, t.base())
	}
	switch {
	case len(out) == 0:
		return nil, "", usagef("--target %q: want a URL such as http://127.0.0.1:8080 (or several, comma-separated)", s)
	case len(out) > maxTargets:
		return nil, "", usagef("--target: %d URLs, at most %d", len(out), maxTargets)
	}
	return out, strings.Join(norm, ","), nil
}

// parseBase parses a server's base URL: http://host[:port], no path.
func parseBase(s string) (target, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return target{}, fmt.Errorf("want a URL such as http://127.0.0.1:8080")
	case u.Scheme != "http":
		return target{}, fmt.Errorf("only http:// is supported (put the load generator next to the server or its TLS terminator)")
	case u.Path != "" && u.Path != "/":
		return target{}, fmt.Errorf("give the server's base URL, without a path")
	}
	return hostTarget(u), nil
}

// hostTarget is the target at u's host.
func hostTarget(u *url.URL) target {
	t := target{host: u.Host, addr: u.Host}
	if u.Port() == "" {
		t.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return t
}

// checkHost refuses a host that is not a loopback address, unless
// allowRemote.
func checkHost(hostport string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	ips, err := net.LookupIP(strings.Trim(host, "[]"))
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return UsageError{fmt.Errorf("%s is not a loopback address (%s): pass --allow-remote to load a remote server, and only one that is yours", hostport, ip)}
		}
	}
	return nil
}

// isTarget reports whether addr (host:port) is one of the --target edges.
func (r *run) isTarget(addr string) bool {
	for _, t := range r.tgs {
		if t.addr == addr {
			return true
		}
	}
	return false
}

// hostChecks remembers the verdict on each host a join answer named, so
// that 19,000 listeners sent to the same edge cost one look-up.
type hostChecks struct {
	allowRemote bool
	m           sync.Map // host:port → error (nil: fine)
	noted       atomic.Bool
}

// cannotFollow notes, once a run, that a join's media URL cannot be
// followed, so its listeners stream from the server they joined.
func (h *hostChecks) cannotFollow(err error) {
	if !h.noted.Swap(true) {
		fmt.Fprintf(stderr, "note: a join answered media URLs that cannot be followed (%v): their listeners stream from the server they joined\n", err)
	}
}

func (h *hostChecks) check(hostport string) error {
	if v, ok := h.m.Load(hostport); ok {
		err, _ := v.(error)
		return err
	}
	err := checkHost(hostport, h.allowRemote)
	h.m.Store(hostport, err)
	return err
}

// answerTarget resolves a URL a join answer gave (a media URL, a redirect,
// an alternate) against the request's base, and checks its host.
func (h *hostChecks) answerTarget(from target, s string) (target, *url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return target{}, nil, err
	}
	if u.Host == "" { // relative: the same server
		u.Scheme, u.Host = "http", from.host
	}
	if u.Scheme != "http" {
		return target{}, nil, fmt.Errorf("%s://%s: only http:// is supported", u.Scheme, u.Host)
	}
	t := hostTarget(u)
	if t.addr == from.addr {
		return from, u, nil
	}
	if err := h.check(t.host); err != nil {
		return target{}, nil, err
	}
	return t, u, nil
}
