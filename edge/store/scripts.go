package store

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The store's Lua scripts, one file each under lua/. Each file's header names its KEYS, ARGV,
// return value and the hash-tag slot all its keys share (so it runs on Redis Cluster too).
//
//go:embed lua/*.lua
var luaFiles embed.FS

// script loads lua/name.lua; a missing file is a build mistake, caught by every test.
func script(name string) *redis.Script {
	b, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic("store: missing Lua script " + name + ": " + err.Error())
	}
	return redis.NewScript(string(b))
}

var (
	claimScript     = script("claim_order")       // ClaimOrder, Admit
	retractScript   = script("claim_retract")     // Undo
	rebumpScript    = script("skip_index")        // SkipIndex
	createScript    = script("create_order")      // CreateOrder
	commitScript    = script("commit_order")      // CommitOrder
	eventsScript    = script("order_events")      // OrderEvents, LastOrderEvent
	claimDueScript  = script("webhook_claim_due") // ClaimDueWebhooks
	finishScript    = script("webhook_finish")    // FinishClaim
	queueScript     = script("webhook_queue")     // PendingWebhooks
	saveScript      = script("webhook_save")      // SaveDelivery, Redeliver
	backlogScript   = script("webhook_backlog")   // WebhookBacklog
	gcraScript      = script("rate_gcra")         // Allow, Check, Admit, Undo
	releaseIfOwner  = script("release_if_owner")  // ReleaseXPub
	nextAboveScript = script("next_above")        // NextDevAccount
	indexScript     = script("index_order")       // IndexOrder, CreateOrder
	setOrderScript  = script("order_set_field")   // MarkReviewed, SaveWebhookTest (dashboard_detail.go)

	reserveScript = script("recv_reserve") // Reserve
	releaseScript = script("recv_release") // Release
	matchScript   = script("recv_match")   // MatchTransfer
	claimTxScript = script("recv_claim")   // ClaimTransfer
	forgetScript  = script("recv_forget")  // ForgetTransfer
	unclaimScript = script("recv_unclaim") // ForgetClaim

	retainTrimScript   = script("retain_trim")    // TrimOrder
	retainNextScript   = script("retain_next")    // RetainNext
	retainUnbindScript = script("retain_unbind")  // ReleaseAddress
	switchScript       = script("switch_network") // SwitchNetwork
	totpStepScript     = script("user_totp_step") // UseTOTPStep
	sessionSetScript   = script("session_set")    // TouchSession, SetSessionTOTP
	noticeScript       = script("notice_queue")   // QueueNotice

	figWebhookScript = script("fig_webhook")  // countWebhook (dashboard_figures.go)
	merchantCAS      = script("merchant_cas") // UpdateMerchant
)
