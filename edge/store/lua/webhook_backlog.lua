-- webhook_backlog: count the orders with webhook deliveries waiting: scheduled, or claimed
-- by a dispatcher (an order both scheduled and claimed counts once).
-- KEYS[1] schedule  {prefix}webhooks:{sched}:due
-- KEYS[2] claims    {prefix}webhooks:{sched}:claims
-- ARGV    none
-- Returns the count.
-- Slot: the schedule's, {sched}.
local n = redis.call('ZCARD', KEYS[1])
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[1], id) then n = n + 1 end
end
return n
