-- index_order: file an order under its current status in its merchant's order index, unless
-- the index already holds this version of it or a later one (steps can run out of order), and
-- record its payments' transaction hashes for lookups.
-- KEYS[1] status records   {prefix}merchant:{m:ID}:orders:st
--                          (hash: ULID -> "version:STATUS:created-at seconds in 8 hex digits")
-- KEYS[2] tx lookups       {prefix}merchant:{m:ID}:orders:tx (hash: tx hash -> order ids, comma-separated)
-- KEYS[3..2+n] the order's network's status lists, one per status (lex zsets, score 0)
-- ARGV    ULID, member, version, status, created hex, n, the n statuses in KEYS order, then tx hashes
-- Returns 1 when the order was (re)filed, 0 when the index was as new already.
-- Slot: the merchant's, {m:ID}.
local n = tonumber(ARGV[6])
local id = 'ord_' .. ARGV[1]
for i = 7 + n, #ARGV do
  local have = redis.call('HGET', KEYS[2], ARGV[i])
  if not have then
    redis.call('HSET', KEYS[2], ARGV[i], id)
  elseif not string.find(',' .. have .. ',', ',' .. id .. ',', 1, true) then
    redis.call('HSET', KEYS[2], ARGV[i], have .. ',' .. id) -- one transaction paying several orders
  end
end
local ver = tonumber(ARGV[3])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local a = string.find(cur, ':', 1, true)
  local b = string.find(cur, ':', a + 1, true)
  if tonumber(string.sub(cur, 1, a - 1)) >= ver then return 0 end
  local old = string.sub(cur, a + 1, b - 1)
  if old ~= ARGV[4] then
    for i = 1, n do
      if ARGV[6 + i] == old then redis.call('ZREM', KEYS[2 + i], ARGV[2]) end
    end
  end
end
for i = 1, n do
  if ARGV[6 + i] == ARGV[4] then redis.call('ZADD', KEYS[2 + i], 0, ARGV[2]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ver .. ':' .. ARGV[4] .. ':' .. ARGV[5])
return 1
