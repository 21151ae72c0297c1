-- claim_order: reserve (order id, params hash, address index, creation time) under an
-- idempotency key, or return what an earlier request with the key reserved.
-- KEYS[1] idempotency record  {prefix}merchant:{m:ID}:idem:KEY (hash; expires after ARGV[4])
-- KEYS[2] address counter     {prefix}merchant:{m:ID}:next:FINGERPRINT
-- ARGV    order id, params hash, created (unix ms), ttl (seconds)
-- Returns {1 if this call made the claim else 0, order id, params hash, index, created}.
-- Slot: the merchant's, {m:ID}.
local rec = redis.call('HMGET', KEYS[1], 'order_id', 'hash', 'index', 'created')
if rec[1] then return {0, rec[1], rec[2], rec[3], rec[4]} end
local idx = redis.call('INCR', KEYS[2]) - 1
redis.call('HSET', KEYS[1], 'order_id', ARGV[1], 'hash', ARGV[2], 'index', idx, 'created', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, ARGV[1], ARGV[2], tostring(idx), ARGV[3]}
