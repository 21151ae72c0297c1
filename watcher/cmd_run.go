package main

import (
	"context"
	"errors"
)

func runWatch(ctx context.Context, args []string) error { return errors.New("run: not built yet") }
