package users

import (
	"context"
	"net/netip"
	"strconv"

	"github.com/mpchat/checkout/edge/store"
)

// ActionTOTPReset is the audit action of an operator clearing a user's second factor.
const ActionTOTPReset = "totp.reset"

// ResetTOTP clears the second factor of the user with this e-mail address (a lost phone) and
// ends every session of the user, so whoever holds one signs in again with the password
// alone, then can enrol a new authenticator. Audited in the user's merchant's log (the
// operators' for an operator). Running it again is harmless. ErrNotFound for an unknown
// address.
func (s *Service) ResetTOTP(ctx context.Context, email, actor string, ip netip.Addr) (*store.User, error) {
	u, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	had := u.TOTPEnrolled()
	if err := s.Store.ClearTOTP(ctx, u.ID); err != nil {
		return nil, err
	}
	n, err := s.Store.RevokeSessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	detail := "second factor cleared"
	if !had {
		detail = "no second factor was set"
	}
	detail += ", " + strconv.Itoa(n) + " sessions ended"
	if err := s.audit(ctx, u, store.AuditEntry{Actor: actor, Action: ActionTOTPReset, IP: ipString(ip), Detail: detail}); err != nil {
		return nil, err
	}
	return s.Store.User(ctx, u.ID)
}
