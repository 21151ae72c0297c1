package widget

import (
	"fmt"

	checkout "github.com/mpchat/checkout"
)

// msg is the key of one translated text.
type msg int

const (
	mTitle msg = iota
	mPayFor
	mAmountLabel
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
	mConfirmingTitle
	mConfirmingBody
	mConfirmingShort
	mConfirmations
	mPaidTitle
	mPaidBody
	mUnderpaidTitle
	mUnderpaidBody
	mExpiredTitle
	mExpiredBody
	mFrozenTitle
	mFrozenBody
	mReturning
	mReturnNow
	mOpenApp
	mOpenAppHint
	mLive
	mReconnecting
	mClose
	mNetworkWarning
	mNotFoundTitle
	mNotFoundBody
	mDevPay
	mDevPayHint
)

var texts = map[string]map[msg]string{
	"en": {
		mTitle:           "Pay with USDT",
		mPayFor:          "Payment for",
		mAmountLabel:     "Amount to send",
		mNetworkLabel:    "Network",
		mAddressLabel:    "Deposit address",
		mCopy:            "Copy",
		mCopied:          "Copied",
		mCopyAmount:      "Copy amount",
		mQRLabel:         "QR code of the payment for your wallet: %s",
		mQRHint:          "Scan with your wallet app, or copy the address.",
		mTimeLeft:        "Time left",
		mTimeUp:          "Time is up",
		mMinutesLeft:     "%d minutes left to pay",
		mSecondsLeft:     "%d seconds left to pay",
		mPendingTitle:    "Waiting for your payment",
		mPendingBody:     "Send exactly %s USDT on %s to the address below. This page updates by itself once the transfer is on chain.",
		mPartialBody:     "Received %s of %s USDT. Send the remaining %s USDT to the same address before the time runs out.",
		mConfirmingTitle: "Payment seen, confirming",
		mConfirmingBody:  "Your transfer is on chain and waiting for confirmations. Keep this page open; do not send again.",
		mConfirmingShort: "%s of %s USDT is on chain and confirming. %s USDT is still missing: send it to the same address.",
		mConfirmations:   "%d of %d confirmations",
		mPaidTitle:       "Payment received",
		mPaidBody:        "Thank you: %s USDT is confirmed. You can close this page.",
		mUnderpaidTitle:  "Payment incomplete",
		mUnderpaidBody:   "We received %s of %s USDT before the order expired. Do not send more to this address; contact the merchant to complete the order or get a refund.",
		mExpiredTitle:    "Order expired",
		mExpiredBody:     "No payment arrived in time. Do not send funds to this address; go back to the shop to start a new order.",
		mFrozenTitle:     "Payment under review",
		mFrozenBody:      "Your payment arrived and is held for review. Do not send again; the merchant will contact you.",
		mReturning:       "Returning to the shop in %d s…",
		mReturnNow:       "Return to the shop",
		mOpenApp:         "Pay in MPChat",
		mOpenAppHint:     "Opens this payment in the MPChat app.",
		mDevPay:          "DEV ONLY · Pay on the dev chain",
		mDevPayHint:      "Development mode: sends the amount from a funded test account on the local dev chain. Never shown in production.",
		mLive:            "Live",
		mReconnecting:    "Connecting for live updates…",
		mClose:           "Close",
		mNetworkWarning:  "Send USDT on %s only. Other tokens or networks are lost.",
		mNotFoundTitle:   "Payment not found",
		mNotFoundBody:    "This payment link is not valid. Go back to the shop and try again.",
	},
	"zh": {
		mTitle:           "使用 USDT 支付",
		mPayFor:          "付款项目",
		mAmountLabel:     "应付金额",
		mNetworkLabel:    "网络",
		mAddressLabel:    "收款地址",
		mCopy:            "复制",
		mCopied:          "已复制",
		mCopyAmount:      "复制金额",
		mQRLabel:         "供钱包扫描的付款二维码：%s",
		mQRHint:          "用钱包 App 扫码，或复制地址。",
		mTimeLeft:        "剩余时间",
		mTimeUp:          "时间已到",
		mMinutesLeft:     "还剩 %d 分钟可以付款",
		mSecondsLeft:     "还剩 %d 秒可以付款",
		mPendingTitle:    "等待付款",
		mPendingBody:     "请通过 %[2]s 向下方地址准确转账 %[1]s USDT。转账上链后本页面会自动更新。",
		mPartialBody:     "已收到 %s / %s USDT。请在时间结束前向同一地址补付剩余的 %s USDT。",
		mConfirmingTitle: "已检测到付款，确认中",
		mConfirmingBody:  "您的转账已上链，正在等待区块确认。请保持本页面打开，不要重复付款。",
		mConfirmingShort: "已上链 %s / %s USDT，正在确认。仍差 %s USDT：请转到同一地址。",
		mConfirmations:   "已确认 %d / %d",
		mPaidTitle:       "付款成功",
		mPaidBody:        "谢谢！%s USDT 已确认到账，您可以关闭本页面。",
		mUnderpaidTitle:  "付款不足",
		mUnderpaidBody:   "订单过期前仅收到 %s / %s USDT。请不要再向此地址转账，请联系商家补足订单或申请退款。",
		mExpiredTitle:    "订单已过期",
		mExpiredBody:     "在规定时间内未收到付款。请不要向此地址转账，请返回商店重新下单。",
		mFrozenTitle:     "付款审核中",
		mFrozenBody:      "您的付款已到账，正在审核。请不要重复付款，商家会与您联系。",
		mReturning:       "%d 秒后返回商店…",
		mReturnNow:       "返回商店",
		mOpenApp:         "在 MPChat 中支付",
		mOpenAppHint:     "在 MPChat App 中打开此付款。",
		mDevPay:          "仅限开发 · 在开发链上支付",
		mDevPayHint:      "开发模式：从本地开发链上的测试账户转账。生产环境中不会显示。",
		mLive:            "实时",
		mReconnecting:    "正在连接实时更新…",
		mClose:           "关闭",
		mNetworkWarning:  "仅限通过 %s 转账 USDT，其他代币或网络的转账将会丢失。",
		mNotFoundTitle:   "找不到付款",
		mNotFoundBody:    "此付款链接无效。请返回商店重试。",
	},
}

// t returns the text for key in lang (English when lang is unknown), formatted with args.
func t(lang string, key msg, args ...any) string {
	m, ok := texts[lang]
	if !ok {
		m = texts["en"]
	}
	if len(args) == 0 {
		return m[key]
	}
	return fmt.Sprintf(m[key], args...)
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
