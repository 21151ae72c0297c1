-- index_order: file an order under its current status in its merchant's order index, unless
-- the index already holds this version of it or a later one (steps can run out of order), and
-- record its payments' transaction hashes for lookups.
-- KEYS[1] status records   {prefix}merchant:{m:ID}:orders:st
--                          (hash: ULID -> "version:STATUS:created-at seconds in 8 hex digits")
-- KEYS[2] tx lookups       {prefix}merchant:{m:ID}:orders:tx (hash: tx hash -> order ids, comma-separated)
-- KEYS[3..2+n] the order's network's status lists, one per status (lex zsets, score 0)
-- KEYS[3+n] the dashboard figures of the order's creation day {prefix}merchant:{m:ID}:fig:YYYYMMDD
-- KEYS[4+n] the dashboard figures of its PAID day (its creation day's key when not PAID)
-- KEYS[5+n] since: when the merchant's figures started (unix seconds of the first order counted)
-- ARGV    ULID, member, version, status, created hex, n, the n statuses in KEYS order,
--         then the figures block (see below): on ("1"/"0"), created-at unix seconds,
--         creation-day key's EXPIREAT ("" past retention), PAID-day key's EXPIREAT ("" none),
--         amount paid in base units, time-to-PAID bucket; then tx hashes
-- Returns 1 when the order was (re)filed, 0 when the index was as new already.
-- Slot: the merchant's, {m:ID}.
local n = tonumber(ARGV[6])
local fig = 7 + n
local id = 'ord_' .. ARGV[1]
for i = fig + 6, #ARGV do
  local have = redis.call('HGET', KEYS[2], ARGV[i])
  if not have then
    redis.call('HSET', KEYS[2], ARGV[i], id)
  elseif not string.find(',' .. have .. ',', ',' .. id .. ',', 1, true) then
    redis.call('HSET', KEYS[2], ARGV[i], have .. ',' .. id) -- one transaction paying several orders
  end
end
local ver = tonumber(ARGV[3])
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local old
if cur then
  local a = string.find(cur, ':', 1, true)
  local b = string.find(cur, ':', a + 1, true)
  if tonumber(string.sub(cur, 1, a - 1)) >= ver then return 0 end
  old = string.sub(cur, a + 1, b - 1)
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

-- The dashboard figures (dashboard_figures.go). They change only here, past the version check
-- above, when the indexed status changes: each transition of an order is counted once however
-- often or out of order its index step runs, and by whichever replica runs it.
--   c:STATUS  orders created that day now in STATUS (moved along with the order, so the
--             day's total stays its number of orders created); a new entry always counts,
--             a transition only for orders created since the merchant's figures started
--             (older ones were never counted in)
--   pn, pa    orders that turned PAID that day and their amount paid (base units)
--   tI        of those, how many took bucket I's time from creation to PAID
if ARGV[fig] == '1' then
  local ck, pk, sk = KEYS[3 + n], KEYS[4 + n], KEYS[5 + n]
  local created, new = tonumber(ARGV[fig + 1]), ARGV[4]
  if not cur then redis.call('SET', sk, created, 'NX') end
  local since = redis.call('GET', sk)
  if ARGV[fig + 2] ~= '' and old ~= new and (not cur or since and created >= tonumber(since)) then
    if old then redis.call('HINCRBY', ck, 'c:' .. old, -1) end
    redis.call('HINCRBY', ck, 'c:' .. new, 1)
    redis.call('EXPIREAT', ck, ARGV[fig + 2])
  end
  if new == 'PAID' and old ~= 'PAID' and ARGV[fig + 3] ~= '' then
    redis.call('HINCRBY', pk, 'pn', 1)
    redis.call('HINCRBY', pk, 'pa', ARGV[fig + 4])
    redis.call('HINCRBY', pk, 't' .. ARGV[fig + 5], 1)
    redis.call('EXPIREAT', pk, ARGV[fig + 3])
  end
end
return 1
