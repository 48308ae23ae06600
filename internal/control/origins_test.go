package control

import (
	"context"
	"testing"
	"time"
)

// Two origins name their host URLs; a third node reads both, the spaces'
// Load does not mistake them for spaces, and a name copied under another
// key or written with another cluster key is dropped.
func TestOriginsNamed(t *testing.T) {
	nodes := jsCluster(t, 3)
	a, err := open(t, conn(t, nodes[0]), Config{}).OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	b, err := open(t, conn(t, nodes[1]), Config{}).OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.PutOrigin(Origin{Node: "origin-a", HostURL: "http://127.0.0.1:8081"}); err != nil {
		t.Fatal(err)
	}
	if err := b.PutOrigin(Origin{Node: "origin-b", HostURL: "https://b.example:8443/"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Origin{{Node: "x.y", HostURL: "http://h"}, {Node: "c", HostURL: "ftp://h"},
		{Node: "c", HostURL: "http://h; script-src *"}, {Node: "c", HostURL: "/relative"}} {
		if err := a.PutOrigin(bad); err == nil {
			t.Errorf("PutOrigin(%+v) took it", bad)
		}
	}
	readerPlane := open(t, conn(t, nodes[2]), Config{})
	reader, err := readerPlane.OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, _ := reader.kv.Get(ctx, "origin.origin-a")
	if _, err := reader.kv.Put(ctx, "origin.evil", e.Value()); err != nil {
		t.Fatal(err)
	}
	foreign, err := open(t, conn(t, nodes[1]), Config{ClusterKey: []byte("another cluster's key, not ours")}).OpenMirror()
	if err != nil {
		t.Fatal(err)
	}
	if err := foreign.PutOrigin(Origin{Node: "intruder", HostURL: "http://evil.example"}); err != nil {
		t.Fatal(err)
	}
	got, err := reader.Origins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Origin{"origin-a", "http://127.0.0.1:8081"}) || got[1] != (Origin{"origin-b", "https://b.example:8443/"}) {
		t.Fatalf("origins %+v, want origin-a and origin-b", got)
	}
	if readerPlane.Dropped() != 2 {
		t.Fatalf("%d entries dropped, want the 2 forgeries", readerPlane.Dropped())
	}
	// A watcher sees the same once loaded, and a third origin as it comes.
	wctx, stop := context.WithCancel(ctx)
	seen := make(chan []Origin, 4)
	go func() { _ = reader.WatchOrigins(wctx, func(l []Origin) { seen <- l }) }()
	if l := <-seen; len(l) != 2 || l[0].Node != "origin-a" || l[1].Node != "origin-b" {
		t.Fatalf("watched origins %+v, want origin-a and origin-b", l)
	}
	if err := b.PutOrigin(Origin{Node: "origin-c", HostURL: "http://[::1]:8081"}); err != nil {
		t.Fatal(err)
	}
	if l := <-seen; len(l) != 3 || l[2] != (Origin{"origin-c", "http://[::1]:8081"}) {
		t.Fatalf("watched origins %+v, want origin-c too", l)
	}
	stop()
	if readerPlane.Dropped() != 4 {
		t.Fatalf("%d entries dropped, want the 2 forgeries twice", readerPlane.Dropped())
	}
	spaces, invites, err := reader.Load(ctx)
	if err != nil || len(spaces) != 0 || len(invites) != 0 || readerPlane.Dropped() != 4 {
		t.Fatalf("Load beside origins: %v spaces, %v invites, err %v, %d dropped", spaces, invites, err, readerPlane.Dropped())
	}
}

// Any bytes under any key: an origin is taken only as written under its own
// name with the cluster key and an http(s) host URL whose origin can go
// into a header or a CSP as it is.
func FuzzOrigin(f *testing.F) {
	p, err := newPlane(Config{ClusterKey: clusterKey})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := p.seal.wrap(BucketOrigin, "origin.a", Origin{Node: "a", HostURL: "http://127.0.0.1:1"}, false)
	bad, _ := p.seal.wrap(BucketOrigin, "origin.a", Origin{Node: "a", HostURL: "http://x'y"}, false)
	f.Add("origin.a", good)
	f.Add("origin.b", good)
	f.Add("origin.a", bad)
	f.Add("origin.a", []byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		o, err := p.origin(key, data)
		if err != nil {
			if o != (Origin{}) {
				t.Fatal("an entry both taken and dropped")
			}
			return
		}
		web, herr := HostOrigin(o.HostURL)
		if key != originPrefix+o.Node || herr != nil {
			t.Fatalf("took %+v under %q (%v)", o, key, herr)
		}
		for _, c := range web {
			if c <= ' ' || c == ';' || c == ',' || c == '\'' || c == '"' || c > '~' {
				t.Fatalf("origin %q of %+v cannot go into a header", web, o)
			}
		}
	})
}
