-- claim_retract: take back a tentative claim (claim_order with t) of a request refused in the
-- same round trip, so a retry is a fresh request. A claim another request has found since
-- (t removed) or a record of another order is kept.
-- KEYS[1] idempotency record  {prefix}merchant:{m:ID}:idem:KEY
-- ARGV    order id the record must name
-- Returns the claim's address index if deleted (free to hand out again), else false.
-- Slot: the merchant's, {m:ID}.
local rec = redis.call('HMGET', KEYS[1], 'order_id', 't', 'index')
if rec[1] ~= ARGV[1] or not rec[2] then return false end
redis.call('DEL', KEYS[1])
return rec[3]
