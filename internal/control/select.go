package control

import "math/rand/v2"

// Choose picks the node with the most headroom by two random choices.
func Choose(reports []Report, rnd *rand.Rand) (best Report, alternates []Report, ok bool) {
	return Report{}, nil, false
}
