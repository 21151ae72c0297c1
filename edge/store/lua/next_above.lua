-- next_above: increment a counter, first raising it to at least ARGV[1] (the shared
-- dev-account counter starts above a prefix's older counter).
-- KEYS[1] counter  {shared}dev-accounts
-- ARGV    floor
-- Returns the incremented value.
-- Slot: the counter's own (one key).
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCR', KEYS[1])
