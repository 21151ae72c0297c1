-- merchant_cas: replace a merchant's document only if it is still the one the caller read,
-- so two concurrent read-modify-writes (the dashboard and the command line, two operators)
-- cannot silently undo each other: the later one reads again and reapplies its change.
-- KEYS[1] merchant  {prefix}merchant:{m:ID}
-- ARGV[1] the document as read
-- ARGV[2] the new document
-- Returns 1 when replaced, 0 when the document changed (or vanished) since it was read.
-- Slot: the merchant's own (one key).
if redis.call('HGET', KEYS[1], 'doc') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
return 1
