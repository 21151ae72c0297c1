package main

import (
	"io"
	"log/slog"
)

// discardLogger drops request logs (as a production edge at level warn would) so the
// benchmark measures the API, not log formatting.
func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
