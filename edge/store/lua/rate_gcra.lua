-- rate_gcra: a generic cell rate limit. The bucket holds the "theoretical arrival time" in ms
-- of Redis's own clock (one clock for every edge replica) and expires when the budget is
-- full again.
-- KEYS[1] bucket  {prefix}rate:NAME (e.g. rate:key:{KEY_ID}, rate:lookup:{CLIENT})
-- ARGV    burst, emission interval (ms), cost (0: only ask whether cost 1 would pass,
--         spending nothing; -1: give back one request spent by a request that was then
--         refused for another reason)
-- Returns {1, 0} allowed, or {0, ms until one more request would pass}.
-- Slot: the bucket's own (one key).
local burst = tonumber(ARGV[1])
local every = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
if cost < 0 then
  local back = tat + every * cost
  if back > now then
    redis.call("SET", KEYS[1], string.format("%.3f", back), "PX", math.ceil(back - now) + 1)
  else
    redis.call("DEL", KEYS[1])
  end
  return {1, 0}
end
if tat < now then tat = now end
local spend = cost
if spend < 1 then spend = 1 end
local new_tat = tat + every * spend
local allow_at = new_tat - every * burst
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
if cost > 0 then
  redis.call("SET", KEYS[1], string.format("%.3f", new_tat), "PX", math.ceil(new_tat - now) + 1)
end
return {1, 0}
