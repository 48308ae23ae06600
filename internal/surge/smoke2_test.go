package surge

import (
	"testing"
	"time"
)

func TestSmoke2(t *testing.T) {
	r, _ := Run(Config{Edges: 400, Crowd: []Wave{{N: 2000000, Over: 60 * time.Second}}})
	for _, s := range r.Timeline[:52] {
		t.Logf("%+v", s)
	}
}
