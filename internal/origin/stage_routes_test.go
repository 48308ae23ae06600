package origin

import (
	"net/http"
	"slices"
	"testing"

	"github.com/onair-live/onair/internal/forward"
)

// An edge forwards forward.Routes and nothing else: a stage route the
// origin answers but the edge does not forward would be a 404 on every
// edge of a cluster while it works in one process.
func TestEdgesForwardEveryStageRoute(t *testing.T) {
	var answered []string
	(&Origin{}).StageHandlers(func(p string, _ func(http.ResponseWriter, *http.Request)) { answered = append(answered, p) })
	slices.Sort(answered)
	forwarded := slices.Sorted(slices.Values(forward.Routes))
	if !slices.Equal(answered, forwarded) {
		t.Fatalf("the origin answers %q, edges forward %q", answered, forwarded)
	}
}
