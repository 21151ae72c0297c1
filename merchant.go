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
	// The secret before the last rotation keeps signing (a second v1= entry) until
	// WebhookSecretPrevUntil, so a merchant can roll the new one out without rejecting events.
	WebhookSecretPrev      string        `json:"webhook_secret_prev,omitempty"`
	WebhookSecretPrevUntil *time.Time    `json:"webhook_secret_prev_until,omitempty"`
	ReturnHosts            []string      `json:"return_hosts"`  // allowed return_url hosts; empty = any
	EmbedOrigins           []string      `json:"embed_origins"` // origins allowed to embed the checkout
	OrderTTL               time.Duration `json:"order_ttl"`     // 0 = DefaultOrderTTL
	RateLimit              int           `json:"rate_limit"`    // API requests per second per key; 0 = edge default
	Dev                    bool          `json:"dev"`           // created in dev mode with development xpubs
	// What the checkout shows the customer beside Name (rules in display.go):
	// a logo, a support page and a support address.
	LogoURL      string    `json:"logo_url,omitempty"`
	SupportURL   string    `json:"support_url,omitempty"`
	SupportEmail string    `json:"support_email,omitempty"`
	CreatedAt    time.Time `json:"created_at"`

	// AllowNetworkSwitch is the default of new orders' allow_network_switch: whether the
	// customer may move an order to another network this merchant accepts (network_switch.go).
	AllowNetworkSwitch bool `json:"allow_network_switch,omitempty"`

	// Receive is the receive mode per network (see ReceiveFor); absent = xpub mode.
	Receive map[Network]ReceiveConfig `json:"receive,omitempty"`
}

// TTL is the merchant's order lifetime.
func (m *Merchant) TTL() time.Duration {
	if m.OrderTTL <= 0 {
		return DefaultOrderTTL
	}
	return m.OrderTTL
}

// WebhookSecretOverlap is how long a rotated-out webhook secret keeps signing beside the new one.
const WebhookSecretOverlap = 24 * time.Hour

// WebhookSecrets returns the secrets a webhook sent at now is signed with: the current one,
// then the previous one while its overlap lasts.
func (m *Merchant) WebhookSecrets(now time.Time) []string {
	s := []string{m.WebhookSecret}
	if m.WebhookSecretPrev != "" && m.WebhookSecretPrevUntil != nil && now.Before(*m.WebhookSecretPrevUntil) {
		s = append(s, m.WebhookSecretPrev)
	}
	return s
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
