package plan

import "github.com/onair-live/onair/internal/surge"

// The seam to internal/surge, the join-surge model: the planner fills its
// Config and reads its Result through these names.
type (
	surgeWave   = surge.Wave
	surgeBots   = surge.Bots
	surgeConfig = surge.Config
	surgeResult = surge.Result
)

// simulate runs the surge model (a variable so that a build or a test
// may do without it: RunSurge then gives the closed form alone).
var simulate = surge.Run
