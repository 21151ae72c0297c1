-- webhook_claim_due: claim up to ARGV[3] orders whose webhook round is due at ARGV[1], each
-- until ARGV[2]: each moves from the schedule to the claims. An order already claimed stays
-- on the schedule (a new event came during its round) and is not claimed twice; an order
-- whose claim's lease ended (its dispatcher died) is due again at once.
-- KEYS[1] schedule  {prefix}webhooks:{sched}:due    (zset: order id -> next round, unix ms)
-- KEYS[2] claims    {prefix}webhooks:{sched}:claims (zset: order id -> lease end, unix ms)
-- ARGV    now (unix ms), lease end (unix ms), limit
-- Returns the claimed order ids.
-- Slot: the schedule's, {sched}.
local limit = tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], 'LT', ARGV[1], id)
end
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 4 * limit + 100)) do
  if not redis.call('ZSCORE', KEYS[2], id) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    out[#out+1] = id
    if #out >= limit then break end
  end
end
return out
