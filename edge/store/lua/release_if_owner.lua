-- release_if_owner: delete an xpub claim if it still names this owner (a claim another
-- merchant holds is left alone).
-- KEYS[1] claim  {shared}xpub-owner:{FINGERPRINT} or {prefix}xpub:{FINGERPRINT}
-- ARGV    owner ("merchantID@prefix" in the shared registry, "merchantID" in the prefix's)
-- Returns 1 when deleted, 0 otherwise.
-- Slot: the claim's own (one key).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
