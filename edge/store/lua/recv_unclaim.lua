-- recv_unclaim: forget an idempotency record made by a create that stored nothing else (every
-- pay_amount was taken), so a retry is a fresh request; a record of another order is kept.
-- KEYS[1] idempotency record  {prefix}merchant:{m:ID}:idem:KEY
-- ARGV    order id the record must name
-- Returns 1 if deleted, else 0.
-- Slot: the merchant's, {m:ID}.
if redis.call('HGET', KEYS[1], 'order_id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
