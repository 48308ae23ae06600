package control

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// snapshot reads every live entry of kv under the subject filter (">" for
// all) through one ordered watch, which the stream's leader serves. Listing
// keys and then getting each one is not the same: a get may be answered by
// a replica that has not yet stored an entry the listing saw, so a space
// written a moment before a standby takes over would be skipped as absent.
func snapshot(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("control: watch %s: %w", kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("control: read %s: %w", kv.Bucket(), ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("control: read %s: the watch ended", kv.Bucket())
			}
			if e == nil { // every entry there was at the start has come
				return out, nil
			}
			out = append(out, e)
		}
	}
}
