package natsnode

import (
	"context"
	"fmt"
	"log/slog"
)

// logAdapter sends the server's log lines to slog, tagged as the NATS server's.
type logAdapter struct{ log *slog.Logger }

func (l logAdapter) logf(level slog.Level, format string, v []any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "nats-server")
	}
}

func (l logAdapter) Noticef(format string, v ...any) { l.logf(slog.LevelInfo, format, v) }
func (l logAdapter) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v) }
func (l logAdapter) Fatalf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l logAdapter) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l logAdapter) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }
func (l logAdapter) Tracef(format string, v ...any)  { l.logf(slog.LevelDebug-4, format, v) }
