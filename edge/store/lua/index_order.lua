-- index_order: file an order under its current status in its merchant's order index, unless
-- the index already holds this version of it or a later one (steps can run out of order), and
-- record its payments' transaction hashes for lookups. An order moves between status lists
-- at most once per version: only a version above the one recorded moves it.
-- KEYS[1] status records   {prefix}merchant:{m:ID}:orders:st
--                          (hash: ULID -> "version:STATUS"; entries written before the
--                          created-at left it read "version:STATUS:created-at hex")
-- KEYS[2] tx lookups       {prefix}merchant:{m:ID}:orders:tx (hash: tx hash -> order ids, comma-separated)
-- KEYS[3..2+n] the order's network's status lists, one per status (lex zsets, score 0)
-- ARGV    ULID, member, version, status, n, the n statuses in KEYS order, then tx hashes
-- Returns 1 when the order was (re)filed, 0 when the index was as new already.
-- Slot: the merchant's, {m:ID}.
local ulid, member, ver, status, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local id = 'ord_' .. ulid

-- The payments' transaction hashes (whatever the version: adding one twice changes nothing).
for i = 6 + n, #ARGV do
  local have = redis.call('HGET', KEYS[2], ARGV[i])
  if not have then
    redis.call('HSET', KEYS[2], ARGV[i], id)
  elseif not string.find(',' .. have .. ',', ',' .. id .. ',', 1, true) then
    redis.call('HSET', KEYS[2], ARGV[i], have .. ',' .. id) -- one transaction paying several orders
  end
end

-- The status list key of a status (nil for one the network has no list for).
local function list(st)
  for i = 1, n do
    if ARGV[5 + i] == st then return KEYS[2 + i] end
  end
  return nil
end

-- The recorded version and status: "version:STATUS", or the earlier "version:STATUS:created".
local cur = redis.call('HGET', KEYS[1], ulid)
if cur then
  local v, old = string.match(cur, '^(%d+):([^:]+)')
  if tonumber(v) >= ver then return 0 end
  if old ~= status and list(old) then redis.call('ZREM', list(old), member) end
end
if list(status) then redis.call('ZADD', list(status), 0, member) end
redis.call('HSET', KEYS[1], ulid, ver .. ':' .. status)
return 1
