package load

import "runtime"

// powSlots bounds the proofs of work this process solves at once (listeners
// and bots alike): a crowd solving together would take every core from the
// listeners already streaming in the same process, and their late reads
// would count as the server's stalls. Real listeners each solve on their own
// machine; here the solves wait their turn, and the wait is part of the
// join's latency.
var powSlots = make(chan struct{}, max(1, runtime.NumCPU()-1))
