package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Every origin of a cluster, active or standing by, names the host URL
// speakers reach it at, under origin.<node> in the origins' bucket, for as
// long as the bucket lives (not only while its lease or load report is
// fresh): the studio page, loaded from one origin, must still know (and be
// let in by) the others when that one is dead.

// originPrefix is where origins name themselves in the origins' bucket
// (beside space. and invite., which Load reads).
const originPrefix = "origin."

// Origin is one origin of the cluster and where its host port is.
type Origin struct {
	Node    string `json:"node"`
	HostURL string `json:"host_url"`
}

// PutOrigin names o in the origins' bucket (signed, not secret).
func (m *Mirror) PutOrigin(o Origin) error {
	if !validName(o.Node) {
		return fmt.Errorf("control: origin node %q: want 1 to 64 of a-z A-Z 0-9 - _", o.Node)
	}
	if _, err := HostOrigin(o.HostURL); err != nil {
		return err
	}
	data, err := m.p.seal.wrap(BucketOrigin, originPrefix+o.Node, o, false)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if _, err := m.kv.Put(ctx, originPrefix+o.Node, data); err != nil {
		return fmt.Errorf("control: name origin %s: %w", o.Node, err)
	}
	return nil
}

// Origins lists every origin that named itself; forged or malformed
// entries are counted and left out.
func (m *Mirror) Origins(ctx context.Context) ([]Origin, error) {
	entries, err := snapshot(ctx, m.kv, originPrefix+"*")
	if err != nil {
		return nil, err
	}
	var out []Origin
	for _, e := range entries {
		key := e.Key()
		o, err := m.p.origin(key, e.Value())
		if err != nil {
			m.p.dropEntry(BucketOrigin+"/"+key, err)
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// WatchOrigins calls seen with every origin that named itself once it has
// read them all, and again on each change, until ctx ends or the watch
// breaks (it returns why). One consumer for as long as it runs.
func (m *Mirror) WatchOrigins(ctx context.Context, seen func([]Origin)) error {
	w, err := m.kv.Watch(ctx, originPrefix+"*", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("control: watch origins: %w", err)
	}
	defer func() { _ = w.Stop() }()
	byNode := map[string]Origin{}
	loaded := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("control: the origins' watch ended")
			}
			if e != nil {
				o, err := m.p.origin(e.Key(), e.Value())
				if err != nil {
					m.p.dropEntry(BucketOrigin+"/"+e.Key(), err)
					continue
				}
				byNode[o.Node] = o
			}
			if loaded = loaded || e == nil; loaded {
				seen(slices.SortedFunc(maps.Values(byNode), func(a, b Origin) int { return strings.Compare(a.Node, b.Node) }))
			}
		}
	}
}

// origin decodes the entry under key: taken only as an origin with the
// cluster key wrote it under its own name, with a usable host URL. Every
// failure is a *dropError.
func (p *Plane) origin(key string, value []byte) (Origin, error) {
	var o Origin
	if err := p.seal.unwrap(BucketOrigin, key, value, &o, false); err != nil {
		return Origin{}, err
	}
	if key != originPrefix+o.Node || !validName(o.Node) {
		return Origin{}, drop(reasonForeign, "origin %q under %q", o.Node, key)
	}
	if _, err := HostOrigin(o.HostURL); err != nil {
		return Origin{}, drop(reasonMalformed, "origin %s: %v", o.Node, err)
	}
	return o, nil
}

// HostOrigin is the web origin (scheme://host[:port]) of a host URL: what
// a browser sends as Origin from a page there, and what a CSP source
// names. Anything else than an absolute http(s) URL with a plain host is
// refused, so it can go into a header as it is.
func HostOrigin(hostURL string) (string, error) {
	u, err := url.Parse(hostURL)
	if err != nil {
		return "", fmt.Errorf("control: host URL %q: %w", hostURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || !plainHost(u.Host) || u.User != nil || u.Opaque != "" {
		return "", fmt.Errorf("control: host URL %q: want http(s)://host[:port][/path]", hostURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// plainHost: a name, an IPv4 or a bracketed IPv6 address, and a port.
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range []byte(h) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}
