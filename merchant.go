package checkout

import "time"

// DefaultOrderTTL is how long an order waits for payment unless the merchant sets otherwise.
const DefaultOrderTTL = 30 * time.Minute

// Merchant is an account that creates orders. Operators manage merchants with the
// `edge merchant` commands; merchants never see this record.
type Merchant struct {
	ID            string             `json:"id"` // "mer_" + ULID
	Name          string             `json:"name"`
	XPubs         map[Network]string `json:"xpubs"`          // account-level xpub per network
	WebhookURL    string             `json:"webhook_url"`    // default for orders without one
	WebhookSecret string             `json:"webhook_secret"` // signs webhooks; shown once
	ReturnHosts   []string           `json:"return_hosts"`   // allowed return_url hosts; empty = any
	EmbedOrigins  []string           `json:"embed_origins"`  // origins allowed to embed the checkout
	OrderTTL      time.Duration      `json:"order_ttl"`      // 0 = DefaultOrderTTL
	RateLimit     int                `json:"rate_limit"`     // API requests per second per key; 0 = edge default
	Dev           bool               `json:"dev"`            // created in dev mode with development xpubs
	CreatedAt     time.Time          `json:"created_at"`
}

// TTL is the merchant's order lifetime.
func (m *Merchant) TTL() time.Duration {
	if m.OrderTTL <= 0 {
		return DefaultOrderTTL
	}
	return m.OrderTTL
}

// APIKey authenticates a merchant's server. The secret is kept because HMAC verification needs
// it; it is shown to the operator once, at creation or rotation.
type APIKey struct {
	ID         string     `json:"id"` // "key_" + ULID; goes in the Authorization header
	MerchantID string     `json:"merchant_id"`
	Secret     string     `json:"secret"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}
