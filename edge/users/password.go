package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams are the costs of new password hashes: 3 passes over 64 MiB with 2 lanes (RFC
// 9106's second recommended option, at t=3; about 0.1–0.2 s on one server core). Stored
// hashes carry their own parameters, so raising these later re-hashes nothing and verifies
// everything.
var DefaultParams = Params{Time: 3, Memory: 64 * 1024, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
	// MinPasswordLen and MaxPasswordLen bound a password, in characters (max in bytes too,
	// so no one makes the server hash megabytes).
	MinPasswordLen = 12
	MaxPasswordLen = 1024
	// Limits on the parameters a stored hash may carry, so a corrupt or planted record cannot
	// make one verification allocate gigabytes or spin.
	maxMemory = 1 << 20 // KiB (1 GiB)
	maxTime   = 16
)

// Errors of passwords.
var (
	ErrPasswordTooShort = fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	ErrPasswordTooLong  = fmt.Errorf("the password must have at most %d bytes", MaxPasswordLen)
	ErrPasswordIsEmail  = errors.New("the password must not be the e-mail address")
	errBadHash          = errors.New("not an argon2id hash this server wrote")
)

// CheckPassword applies the password rules: at least MinPasswordLen characters, at most
// MaxPasswordLen bytes, valid UTF-8, and not the account's e-mail address (in any case).
func CheckPassword(password, email string) error {
	switch {
	case !utf8.ValidString(password):
		return ErrPasswordTooShort
	case len(password) > MaxPasswordLen:
		return ErrPasswordTooLong
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return ErrPasswordTooShort
	case strings.EqualFold(strings.TrimSpace(password), email):
		return ErrPasswordIsEmail
	}
	return nil
}

// HashPassword returns the PHC string of password under p with a fresh 16-byte salt:
// $argon2id$v=19$m=65536,t=3,p=2$SALT$KEY (unpadded standard base64).
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the PHC string phc, comparing the derived
// keys in constant time. A malformed hash (or one with parameters out of bounds) never
// matches.
func VerifyPassword(phc, password string) bool {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

func parsePHC(phc string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if p.Time < 1 || p.Time > maxTime || p.Memory < 8 || p.Memory > maxMemory || p.Threads < 1 {
		return p, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
