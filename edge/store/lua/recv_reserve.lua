-- recv_reserve: reserve the smallest free pay_amount in [amount, amount + cap] on one receive
-- address for an order (addresses mode), or return the order's reservation if it has one.
-- KEYS[1] reservations  {prefix}recv:{NET:ADDR}:res (zset: order id, score pay_amount base units)
-- KEYS[2] reserved min  {prefix}recv:{NET:ADDR}:min (hash: order id → its PAID bound)
-- ARGV    order id, amount (base units), cap (base units), PAID bound (base units)
-- Returns {1, pay_amount} when reserved (now or before), {0, 0} when every pair is taken.
-- Slot: the address's, {NET:ADDR}.
--
-- Scores are distinct integers, so [amount, amount + k] is full exactly when it holds k + 1
-- members; fullness only grows with k, so the smallest free offset is found by binary search
-- on ZCOUNT: O(log cap × log n), whatever the number of reservations on the address.
local had = redis.call('ZSCORE', KEYS[1], ARGV[1])
if had then return {1, tonumber(had)} end
local amt, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local function full(k) return redis.call('ZCOUNT', KEYS[1], amt, amt + k) >= k + 1 end
if full(cap) then return {0, 0} end
local lo, hi = 0, cap
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if full(mid) then lo = mid + 1 else hi = mid end
end
local pay = amt + lo
redis.call('ZADD', KEYS[1], pay, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return {1, pay}
