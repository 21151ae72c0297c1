-- webhook_finish: end a claim if it is still this one (a claim whose lease ended may have
-- been taken over: a stale finish leaves the newer claim alone), and schedule the order's
-- next round at ARGV[3] unless it is due earlier (a new event or a redelivery meanwhile).
-- KEYS[1] schedule  {prefix}webhooks:{sched}:due
-- KEYS[2] claims    {prefix}webhooks:{sched}:claims
-- ARGV    order id, the claim's lease end (unix ms), next round (unix ms) or "" (none)
-- Returns 1.
-- Slot: the schedule's, {sched}.
local s = redis.call('ZSCORE', KEYS[2], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[2], ARGV[1]) end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[1], 'LT', ARGV[3], ARGV[1]) end
return 1
