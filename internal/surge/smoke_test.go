package surge

import (
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	for _, cfg := range []Config{
		{Edges: 1, AdmitRateMax: 100, StartRate: 100, WarmFor: time.Minute, Crowd: []Wave{{N: 10000}}},
		{Edges: 1, AdmitRateMax: 100, StartRate: 100, WarmFor: time.Minute, Burst: -1, Crowd: []Wave{{N: 20000, Over: 100 * time.Second}}},
		{Edges: 1, AdmitRateMax: 100, StartRate: 100, WarmFor: time.Minute, Burst: -1, Poisson: true, Crowd: []Wave{{N: 20000, Over: 250 * time.Second}}},
		{Edges: 400, Crowd: []Wave{{N: 2000000, Over: 60 * time.Second}}},
		{Edges: 400, WarmFor: time.Minute, Crowd: []Wave{{N: 2000000, Over: 60 * time.Second}}},
	} {
		st := time.Now()
		r, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r.Timeline = nil
		t.Logf("%v %+v", time.Since(st), r)
	}
}
