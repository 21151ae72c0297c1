package widget

import (
	"fmt"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// msg is the key of one translated text.
type msg int

const (
	mTitle msg = iota
	mPayFor
	mAmountLabel
	mAmountDue
	mNetworkLabel
	mAddressLabel
	mCopy
	mCopied
	mCopyAmount
	mQRLabel
	mQRHint
	mTimeLeft
	mTimeUp
	mMinutesLeft
	mSecondsLeft
	mPendingTitle
	mPendingBody
	mPartialBody
	mTimeUpTitle
	mTimeUpBody
	mConfirmingTitle
	mConfirmingBody
	mConfirmingShort
	mConfirmations
	mPaidTitle
	mPaidBody
	mOverpaidNote
	mUnderpaidTitle
	mUnderpaidBody
	mExpiredTitle
	mExpiredBody
	mLateTitle
	mLateBody
	mFrozenTitle
	mFrozenBody
	mCanceledTitle
	mCanceledBody
	mReceipt
	mAmountPaid
	mPaidAt
	mOrderID
	mMerchant
	mTransaction
	mExplorer
	mSupport
	mSupportNone
	mReturning
	mReturnNow
	mStay
	mOpenApp
	mOpenAppHint
	mLive
	mReconnecting
	mNetworkWarning
	mLanguage
	mClose
	mNotFoundTitle
	mNotFoundBody
	mDevPay
	mDevPayHint
	// Orders on a merchant's shared addresses (i18n_receive.go).
	mExactBody
	mClaimTitle
	mClaimHint
	mClaimLabel
	mClaimSubmit
	mClaimChecking
	mClaimAccepted
	mClaimNotFound
	mClaimCredited
	mClaimTooMany
	mClaimInvalid
	mClaimFailed
	// The network choice (i18n_switch.go).
	mSwitchLabel
	mSwitchHint
	mFeeLow
	mFeeHigh
	mSwitchFailed
	numMsgs // the number of keys: every locale has each one (TestEveryLocaleComplete)
)

// Locale is one language the checkout speaks.
type Locale struct {
	Code string // the ?lang= value and the html lang attribute
	Name string // its own name, for the switcher
	RTL  bool
	// Dec and Group are the decimal and thousands separators of amounts; Time the layout of
	// a date and time (time.Format, in the customer's zone).
	Dec, Group string
	Time       string
}

// Locales are the checkout's languages, in the switcher's order. English is the fallback.
var Locales = []Locale{
	{Code: "en", Name: "English", Dec: ".", Group: ",", Time: "Jan 2, 2006, 3:04 PM"},
	{Code: "zh", Name: "简体中文", Dec: ".", Group: ",", Time: "2006年1月2日 15:04"},
	{Code: "es", Name: "Español", Dec: ",", Group: ".", Time: "02/01/2006 15:04"},
	{Code: "pt-BR", Name: "Português (Brasil)", Dec: ",", Group: ".", Time: "02/01/2006 15:04"},
	{Code: "fr", Name: "Français", Dec: ",", Group: "\u202f", Time: "02/01/2006 15:04"},
	{Code: "de", Name: "Deutsch", Dec: ",", Group: ".", Time: "02.01.2006, 15:04"},
	{Code: "ru", Name: "Русский", Dec: ",", Group: "\u00a0", Time: "02.01.2006, 15:04"},
	{Code: "ja", Name: "日本語", Dec: ".", Group: ",", Time: "2006/01/02 15:04"},
	{Code: "ko", Name: "한국어", Dec: ".", Group: ",", Time: "2006. 1. 2. 15:04"},
	{Code: "ar", Name: "العربية", RTL: true, Dec: ".", Group: ",", Time: "2006/01/02 15:04"},
	{Code: "tr", Name: "Türkçe", Dec: ",", Group: ".", Time: "02.01.2006 15:04"},
}

// texts holds every locale's texts; each locale's file (i18n_*.go) adds its own.
var texts = map[string]map[msg]string{}

func locale(lang string) Locale {
	for _, l := range Locales {
		if l.Code == lang {
			return l
		}
	}
	return Locales[0]
}

// t returns the text for key in lang (English when lang is unknown), formatted with args.
func t(lang string, key msg, args ...any) string {
	m, ok := texts[lang]
	if !ok {
		m = texts["en"]
	}
	s, ok := m[key]
	if !ok {
		s = texts["en"][key]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// fmtAmount writes an amount for reading in lang: its decimal separator and thousands
// grouping. Copy buttons copy the plain form (wallets want 1234.5, not 1.234,5).
func fmtAmount(lang string, a checkout.Amount) string {
	l := locale(lang)
	s := a.String()
	whole, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(l.Group)
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString(l.Dec + frac)
	}
	return b.String()
}

// fmtTime writes t in lang's date-and-time layout, in zone (the customer's in the browser,
// UTC on the edge, then marked so).
func fmtTime(lang string, t time.Time, zone *time.Location) string {
	s := t.In(zone).Format(locale(lang).Time)
	if zone == time.UTC {
		s += " UTC"
	}
	if locale(lang).RTL {
		s = "\u2066" + s + "\u2069" // a left-to-right isolate: digits stay in order in RTL text
	}
	return s
}

// networkLabel names the network for the customer ("TRC20 · TRON").
func networkLabel(lang string, n checkout.Network) string {
	if lang == "zh" {
		switch n {
		case checkout.TRC20:
			return "TRC20 · 波场 TRON"
		case checkout.ERC20:
			return "ERC20 · 以太坊 Ethereum"
		}
	}
	return n.Label()
}

// NotFoundTitle and NotFoundBody are the texts of the page shown for an unknown order.
func NotFoundTitle(lang string) string { return t(lang, mNotFoundTitle) }

// NotFoundBody: see NotFoundTitle.
func NotFoundBody(lang string) string { return t(lang, mNotFoundBody) }

// Title is the page title in lang.
func Title(lang string) string { return t(lang, mTitle) }

// StatusTitles are the titles of the statuses in lang (State.Titles).
func StatusTitles(lang string) map[checkout.Status]string {
	return map[checkout.Status]string{
		checkout.StatusPending: t(lang, mPendingTitle), checkout.StatusConfirming: t(lang, mConfirmingTitle),
		checkout.StatusPaid: t(lang, mPaidTitle), checkout.StatusUnderpaid: t(lang, mUnderpaidTitle),
		checkout.StatusExpired: t(lang, mExpiredTitle), checkout.StatusFrozen: t(lang, mFrozenTitle),
		checkout.StatusCanceled: t(lang, mCanceledTitle),
	}
}

// Dir is the text direction of lang: "rtl" or "ltr".
func Dir(lang string) string {
	if locale(lang).RTL {
		return "rtl"
	}
	return "ltr"
}
