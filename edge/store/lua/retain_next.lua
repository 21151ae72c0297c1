-- retain_next: move an order's retention entry to its next check, or drop it, provided the
-- entry still has the score the caller read (a commit meanwhile may have added it afresh).
-- KEYS[1] retention schedule  {prefix}retention (zset: order id, score unix ms of its next check)
-- ARGV    order id, score read, next score (unix ms) or "" to drop the entry
-- Returns 1 when moved or dropped, 0 when the entry changed meanwhile (left as it is).
-- Slot: the schedule's own.
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
