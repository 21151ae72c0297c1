package store

import "context"

// ClearTOTP removes the user's second factor (its secret and last used step), for an
// operator resetting a lost authenticator. The caller ends the user's sessions too.
func (s *Store) ClearTOTP(ctx context.Context, userID string) error {
	return wrap("clear totp", s.rdb.HDel(ctx, s.k.user(userID), "totp", "totp_step").Err())
}
