package receipts

import "context"

type witnessPoller struct{}

func (w *witnessPoller) run(ctx context.Context) {}
