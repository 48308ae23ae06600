// Package line keeps one fair waiting line per space across edges: the
// active origin keeps it, edges draw numbers from it over NATS.
//
// The keeper (on the active origin) holds one gate.Admission per space and
// answers draw and check requests on onair.line.<space>; each line moves at
// its share of the sum of the edges' admit rates (from their load
// reports), and stops while every edge is full. An edge's gate uses a
// Client as its gate.Line: a join costs one request-reply to the keeper,
// and a place admitted is claimed there, so a served queue token admits
// once across the cluster. When the keeper does not answer within the
// timeout (it failed, or a standby is taking over), the edge falls back to
// a line of its own moving at its own admit rate, as a lone node does, and
// returns to the shared line at the keeper's first answer to its probes.
// Numbers carry the tag of the line they were drawn in, so a place in a
// line that is gone (another edge's fallback, a keeper's whose lines were
// not saved) is known as stale, and its holder draws again once per edge
// with no second proof of work. Given a KV bucket, the keeper saves each
// line's counters every period, and a keeper that takes over (the standby
// origin) resumes the lines under the same tags: waiters keep their places.
package line
