package main

import (
	"context"
	"errors"
)

func runDevchain(ctx context.Context, args []string) error {
	return errors.New("devchain: not built yet")
}

func runDevpay(ctx context.Context, args []string) error { return errors.New("devpay: not built yet") }
