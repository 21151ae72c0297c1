package dashboard

// The live refreshes' per-session bound, for its test.
var (
	TakeLiveSlot    = takeLiveSlot
	ReleaseLiveSlot = releaseLiveSlot
)

const MaxLiveRequests = maxLiveRequests
