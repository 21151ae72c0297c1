package dashboard

import (
	"errors"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/mpchat/checkout/edge/users"
)

// home is the landing page. A merchant's user sees that merchant only; an operator the names
// of all.
func (h *Handler) home(r *request) error {
	u := r.cur.User
	var name string
	var names []string
	if u.Operator {
		ms, err := h.cfg.Merchants.Merchants(r.ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			names = append(names, m.Name)
		}
		sort.Strings(names)
	} else {
		m, err := h.cfg.Merchants.Merchant(r.ctx, u.MerchantID)
		if err != nil {
			return err
		}
		name = m.Name
	}
	h.render(r, fasthttp.StatusOK, t(r.lang, "title.home"), homePage(r, name, names))
	return nil
}

func (h *Handler) loginPage(r *request) error {
	if r.cur != nil {
		h.redirect(r, Path, "")
		return nil
	}
	h.render(r, fasthttp.StatusOK, t(r.lang, "title.login"), loginPage(r, "", ""))
	return nil
}

func (h *Handler) login(r *request) error {
	args := r.ctx.PostArgs()
	email := string(args.Peek("email"))
	s, err := h.cfg.Users.Login(r.ctx, email, string(args.Peek("password")), string(args.Peek("code")), r.ip)
	var th *users.ThrottledError
	switch {
	case errors.As(err, &th):
		secs := retryAfter(r.ctx, th.RetryAfter)
		h.render(r, fasthttp.StatusTooManyRequests, t(r.lang, "title.login"), loginPage(r, email, t(r.lang, "err.throttled", secs)))
		return nil
	case errors.Is(err, users.ErrCodeRequired):
		h.render(r, fasthttp.StatusUnauthorized, t(r.lang, "title.login"), loginPage(r, email, t(r.lang, "err.code")))
		return nil
	case errors.Is(err, users.ErrInvalidCredentials):
		h.render(r, fasthttp.StatusUnauthorized, t(r.lang, "title.login"), loginPage(r, email, t(r.lang, "err.credentials")))
		return nil
	case err != nil:
		return err
	}
	h.setCookie(r.ctx, s.ID)
	h.redirect(r, Path, "")
	return nil
}

func (h *Handler) setPasswordPage(r *request) error {
	token := string(r.ctx.QueryArgs().Peek("token"))
	u, err := h.cfg.Users.LinkUser(r.ctx, token)
	if errors.Is(err, users.ErrTokenInvalid) {
		h.render(r, fasthttp.StatusNotFound, t(r.lang, "title.setpw"), errorPage(r, t(r.lang, "err.link")))
		return nil
	}
	if err != nil {
		return err
	}
	h.render(r, fasthttp.StatusOK, t(r.lang, "title.setpw"), setPasswordPage(r, token, u.Email, ""))
	return nil
}

func (h *Handler) setPassword(r *request) error {
	args := r.ctx.PostArgs()
	token, pw := string(args.Peek("token")), string(args.Peek("password"))
	u, err := h.cfg.Users.LinkUser(r.ctx, token)
	if errors.Is(err, users.ErrTokenInvalid) {
		h.render(r, fasthttp.StatusNotFound, t(r.lang, "title.setpw"), errorPage(r, t(r.lang, "err.link")))
		return nil
	}
	if err != nil {
		return err
	}
	refuse := func(key string) error {
		h.render(r, fasthttp.StatusBadRequest, t(r.lang, "title.setpw"), setPasswordPage(r, token, u.Email, t(r.lang, key)))
		return nil
	}
	if pw != string(args.Peek("confirm")) {
		return refuse("setpw.mismatch")
	}
	switch err := users.CheckPassword(pw, u.Email); {
	case errors.Is(err, users.ErrPasswordTooLong):
		return refuse("err.pw.long")
	case errors.Is(err, users.ErrPasswordIsEmail):
		return refuse("err.pw.email")
	case err != nil:
		return refuse("err.pw.short")
	}
	_, err = h.cfg.Users.SetPassword(r.ctx, token, pw, r.ip)
	var inv *users.InvalidError
	switch {
	case errors.Is(err, users.ErrTokenInvalid):
		h.render(r, fasthttp.StatusNotFound, t(r.lang, "title.setpw"), errorPage(r, t(r.lang, "err.link")))
		return nil
	case errors.As(err, &inv):
		return refuse("err.pw.short")
	case err != nil:
		return err
	}
	// Setting a password ends the user's sessions; so does this browser's, if it had one.
	if r.cur != nil {
		h.clearCookie(r.ctx)
	}
	h.redirect(r, Path+"/login", "pwset")
	return nil
}

func (h *Handler) logout(r *request) error {
	if err := h.cfg.Users.Logout(r.ctx, r.cur, r.ip); err != nil {
		return err
	}
	h.clearCookie(r.ctx)
	h.redirect(r, Path+"/login", "signedout")
	return nil
}

func (h *Handler) logoutAll(r *request) error {
	if err := h.cfg.Users.LogoutAll(r.ctx, r.cur, r.ip); err != nil {
		return err
	}
	h.clearCookie(r.ctx)
	h.redirect(r, Path+"/login", "signedoutall")
	return nil
}

func (h *Handler) totpPage(r *request) error {
	return h.showTOTP(r, fasthttp.StatusOK, "")
}

func (h *Handler) showTOTP(r *request, status int, errMsg string) error {
	en, err := h.cfg.Users.BeginTOTP(r.ctx, r.cur)
	if errors.Is(err, users.ErrTOTPEnrolled) {
		h.render(r, fasthttp.StatusOK, t(r.lang, "title.totp"), errorPage(r, t(r.lang, "totp.already")))
		return nil
	}
	if err != nil {
		return err
	}
	page, err := totpPage(r, en.Secret, en.URI, errMsg)
	if err != nil {
		return err
	}
	h.render(r, status, t(r.lang, "title.totp"), page)
	return nil
}

func (h *Handler) totpConfirm(r *request) error {
	err := h.cfg.Users.ConfirmTOTP(r.ctx, r.cur, string(r.ctx.PostArgs().Peek("code")), r.ip)
	switch {
	case errors.Is(err, users.ErrBadCode):
		return h.showTOTP(r, fasthttp.StatusBadRequest, t(r.lang, "totp.bad"))
	case errors.Is(err, users.ErrTOTPEnrolled):
		h.redirect(r, Path, "")
		return nil
	case err != nil:
		return err
	}
	h.redirect(r, Path, "totp")
	return nil
}
