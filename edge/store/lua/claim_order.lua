-- claim_order: reserve (order id, params hash, address index, creation time) under an
-- idempotency key, or return what an earlier request with the key reserved.
-- KEYS[1] idempotency record  {prefix}merchant:{m:ID}:idem:KEY (hash; expires after ARGV[4])
-- KEYS[2] address counter     {prefix}merchant:{m:ID}:next:FINGERPRINT
-- ARGV    order id, params hash, created (unix ms), ttl (seconds), [tentative "1"],
--         [index to use instead of the counter's next, "" for the counter]
-- A tentative claim (field t) is made by a request whose other checks (rate limit,
-- throttles, key revocation) run in the same round trip: if they refuse it, claim_retract
-- takes it back. Any later request that finds the record pins it (removes t), so a claim
-- another request is building the order from is never taken back.
-- Returns {1 if this call made the claim else 0, order id, params hash, index, created}.
-- Slot: the merchant's, {m:ID}.
local rec = redis.call('HMGET', KEYS[1], 'order_id', 'hash', 'index', 'created')
if rec[1] then
  redis.call('HDEL', KEYS[1], 't')
  return {0, rec[1], rec[2], rec[3], rec[4]}
end
local idx
if ARGV[6] and ARGV[6] ~= '' then
  idx = tonumber(ARGV[6])
else
  idx = redis.call('INCR', KEYS[2]) - 1
end
redis.call('HSET', KEYS[1], 'order_id', ARGV[1], 'hash', ARGV[2], 'index', idx, 'created', ARGV[3])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 't', '1') end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, ARGV[1], ARGV[2], tostring(idx), ARGV[3]}
