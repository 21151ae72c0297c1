-- skip_index: move an idempotency record to a fresh address index if it still holds the old
-- one (a concurrent caller that already moved it wins: its index is returned).
-- KEYS[1] idempotency record  {prefix}merchant:{m:ID}:idem:KEY
-- KEYS[2] address counter     {prefix}merchant:{m:ID}:next:FINGERPRINT
-- ARGV    the old index
-- Returns the record's index after the call (a fresh one if the record is gone).
-- Slot: the merchant's, {m:ID}.
local cur = redis.call('HGET', KEYS[1], 'index')
if cur and cur ~= ARGV[1] then return tonumber(cur) end
local idx = redis.call('INCR', KEYS[2]) - 1
if cur then redis.call('HSET', KEYS[1], 'index', idx) end
return idx
