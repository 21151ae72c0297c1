package dashboard

import (
	"fmt"
	"strings"
)

// langs are the dashboard's languages; the first is the fallback.
var langs = []string{"en", "zh"}

// text holds every string the dashboard shows, per language. A key missing in a language
// falls back to English (TestTextComplete keeps them complete).
var text = map[string]map[string]string{
	"en": {
		"brand":                "MP Checkout",
		"nav.label":            "Dashboard sections",
		"nav.orders":           "Orders",
		"nav.attention":        "Needs attention",
		"nav.numbers":          "Numbers",
		"nav.settings":         "Settings",
		"nav.operator":         "Operator",
		"title.login":          "Sign in",
		"title.setpw":          "Set your password",
		"title.home":           "Dashboard",
		"title.totp":           "Two-factor authentication",
		"title.error":          "Something went wrong",
		"email":                "E-mail address",
		"password":             "Password",
		"code":                 "Authentication code",
		"code.hint":            "Only if you turned on two-factor authentication.",
		"login.button":         "Sign in",
		"setpw.for":            "Account: %s",
		"setpw.new":            "New password",
		"setpw.repeat":         "Repeat the password",
		"setpw.rules":          "At least 12 characters, and not your e-mail address.",
		"setpw.button":         "Set password",
		"setpw.mismatch":       "The two passwords differ.",
		"err.credentials":      "The e-mail address, password or authentication code is not right.",
		"err.code":             "Enter the code from your authenticator app.",
		"err.throttled":        "Too many attempts. Try again in %d seconds.",
		"err.link":             "This link is not valid: it was used or has expired. Ask your operator for a new one.",
		"err.pw.short":         "The password must have at least 12 characters.",
		"err.pw.long":          "The password is too long.",
		"err.pw.email":         "The password must not be your e-mail address.",
		"err.forbidden":        "This request was refused: it did not come from this dashboard's own page. Reload the page and try again.",
		"err.internal":         "Something went wrong on our side. Please try again.",
		"err.notfound":         "There is no such page.",
		"msg.pwset":            "Your password is set. Sign in with it.",
		"msg.signedout":        "You are signed out.",
		"msg.signedoutall":     "Every session of your account has ended, on every device.",
		"msg.totp":             "Two-factor authentication is on. You will need a code at every sign-in.",
		"msg.expired":          "Your session has ended. Sign in again.",
		"home.user":            "Signed in as %s",
		"home.merchant":        "Merchant",
		"home.operator":        "Operator: you see every merchant.",
		"home.merchants":       "Merchants",
		"home.none":            "No merchants yet.",
		"home.totp.on":         "Two-factor authentication is on.",
		"home.totp.off":        "Two-factor authentication is off.",
		"home.totp.setup":      "Turn on two-factor authentication",
		"home.signout":         "Sign out",
		"home.signoutall":      "Sign out everywhere",
		"home.signoutall.hint": "Ends every session of your account, on every device, this one included.",
		"totp.scan":            "Scan this code with an authenticator app, or enter the key by hand.",
		"totp.key":             "Key",
		"totp.open":            "Open in an authenticator app",
		"totp.qr":              "QR code of the two-factor key",
		"totp.confirm":         "Code the app shows now (6 digits)",
		"totp.button":          "Turn on",
		"totp.bad":             "The code does not match. Check the time on your device and try again.",
		"totp.already":         "Two-factor authentication is already on.",
		"back":                 "Back to the dashboard",
		"lang.other":           "中文",
		"skip":                 "Skip to the form",
	},
	"zh": {
		"brand":                "MP Checkout",
		"nav.label":            "后台分区",
		"nav.orders":           "订单",
		"nav.attention":        "待处理",
		"nav.numbers":          "数据",
		"nav.settings":         "设置",
		"nav.operator":         "运营",
		"title.login":          "登录",
		"title.setpw":          "设置密码",
		"title.home":           "商户后台",
		"title.totp":           "双重验证",
		"title.error":          "出错了",
		"email":                "电子邮箱",
		"password":             "密码",
		"code":                 "验证码",
		"code.hint":            "仅在已开启双重验证时填写。",
		"login.button":         "登录",
		"setpw.for":            "账户：%s",
		"setpw.new":            "新密码",
		"setpw.repeat":         "再次输入密码",
		"setpw.rules":          "至少 12 个字符，且不能是您的电子邮箱。",
		"setpw.button":         "设置密码",
		"setpw.mismatch":       "两次输入的密码不一致。",
		"err.credentials":      "电子邮箱、密码或验证码不正确。",
		"err.code":             "请输入身份验证器应用中的验证码。",
		"err.throttled":        "尝试次数过多，请在 %d 秒后重试。",
		"err.link":             "此链接无效：已被使用或已过期。请联系运营人员获取新链接。",
		"err.pw.short":         "密码至少需要 12 个字符。",
		"err.pw.long":          "密码过长。",
		"err.pw.email":         "密码不能是您的电子邮箱。",
		"err.forbidden":        "请求被拒绝：它并非来自本后台的页面。请刷新页面后重试。",
		"err.internal":         "服务器出错，请重试。",
		"err.notfound":         "页面不存在。",
		"msg.pwset":            "密码已设置，请使用新密码登录。",
		"msg.signedout":        "您已退出登录。",
		"msg.signedoutall":     "您账户在所有设备上的会话均已结束。",
		"msg.totp":             "已开启双重验证，今后每次登录都需要验证码。",
		"msg.expired":          "会话已结束，请重新登录。",
		"home.user":            "当前登录：%s",
		"home.merchant":        "商户",
		"home.operator":        "运营者：您可以查看所有商户。",
		"home.merchants":       "商户列表",
		"home.none":            "暂无商户。",
		"home.totp.on":         "已开启双重验证。",
		"home.totp.off":        "未开启双重验证。",
		"home.totp.setup":      "开启双重验证",
		"home.signout":         "退出登录",
		"home.signoutall":      "在所有设备上退出",
		"home.signoutall.hint": "结束您账户在所有设备上的会话，包括当前会话。",
		"totp.scan":            "请用身份验证器应用扫描此二维码，或手动输入密钥。",
		"totp.key":             "密钥",
		"totp.open":            "在身份验证器应用中打开",
		"totp.qr":              "双重验证密钥的二维码",
		"totp.confirm":         "应用当前显示的验证码（6 位数字）",
		"totp.button":          "开启",
		"totp.bad":             "验证码不匹配。请检查设备时间后重试。",
		"totp.already":         "双重验证已开启。",
		"back":                 "返回后台",
		"lang.other":           "English",
		"skip":                 "跳到表单",
	},
}

// addText adds an area's strings to text (from its file's init); a key defined twice is a
// programming error caught at start-up.
func addText(more map[string]map[string]string) {
	for lang, m := range more {
		if text[lang] == nil {
			text[lang] = map[string]string{}
		}
		for k, v := range m {
			if _, dup := text[lang][k]; dup {
				panic("dashboard: text key " + lang + "." + k + " defined twice")
			}
			text[lang][k] = v
		}
	}
}

// t returns the string key in lang, formatted with args when given.
func t(lang, key string, args ...any) string {
	s, ok := text[lang][key]
	if !ok {
		s = text["en"][key]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// pickLang chooses the language: an explicit ?lang= first, then the browser's most preferred
// language that the dashboard has (Accept-Language, in order, q-values ignored but q=0
// skipped), then English.
func pickLang(query, acceptLanguage string) string {
	if l := baseLang(query); l != "" {
		return l
	}
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.ReplaceAll(strings.TrimSpace(params), " ", "") == "q=0" {
			continue
		}
		if l := baseLang(tag); l != "" {
			return l
		}
	}
	return langs[0]
}

func baseLang(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	for _, l := range langs {
		if base == l {
			return l
		}
	}
	return ""
}

// otherLang is the language the switch link offers.
func otherLang(lang string) string {
	if lang == "zh" {
		return "en"
	}
	return "zh"
}
