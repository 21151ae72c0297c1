package main

import (
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
)

func TestSettleRulesFlags(t *testing.T) {
	cases := []struct {
		name  string
		dust  string
		max   int
		grace time.Duration
		want  checkout.Rules
		bad   bool
	}{
		{"defaults", checkout.DefaultDustThreshold.String(), checkout.DefaultMaxPayments, checkout.DefaultReorgGrace,
			checkout.Rules{DustThreshold: checkout.DefaultDustThreshold, MaxPayments: 20, ReorgGrace: 10 * time.Minute}, false},
		{"zero threshold: only zero-value is dust", "0", 5, time.Minute, checkout.Rules{DustThreshold: 1, MaxPayments: 5, ReorgGrace: time.Minute}, false},
		{"finer than base units", "0.0000001", 5, time.Minute, checkout.Rules{}, true},
		{"negative", "-1", 5, time.Minute, checkout.Rules{}, true},
		{"no payments", "0.01", 0, time.Minute, checkout.Rules{}, true},
		{"more payments than an amount can sum", "0.01", 51, time.Minute, checkout.Rules{}, true},
		{"the most payments", "0.01", 50, time.Minute, checkout.Rules{DustThreshold: 10_000, MaxPayments: 50, ReorgGrace: time.Minute}, false},
		{"no grace", "0.01", 5, 0, checkout.Rules{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := settleRules(c.dust, c.max, c.grace)
			if (err != nil) != c.bad || (!c.bad && got != c.want) {
				t.Errorf("settleRules(%q, %d, %v) = %+v, %v", c.dust, c.max, c.grace, got, err)
			}
		})
	}
}
