-- index_order: file an order under its current status in its merchant's order index, unless
-- the index already holds this version of it or a later one (steps can run out of order), and
-- record its payments' transaction hashes for lookups. An order moves between status lists
-- at most once per version: only a version above the one recorded moves it.
-- KEYS[1] status records   {prefix}merchant:{m:ID}:orders:st
--                          (hash: ULID -> "version:STATUS"; entries written before the
--                          created-at left it read "version:STATUS:created-at hex")
-- KEYS[2] tx lookups       {prefix}merchant:{m:ID}:orders:tx (hash: tx hash -> order ids, comma-separated)
-- KEYS[3..2+n] the order's network's status lists, one per status (lex zsets, score 0)
-- KEYS[3+n] the dashboard figures of the order's creation day {prefix}merchant:{m:ID}:fig:YYYYMMDD
-- KEYS[4+n] the dashboard figures of its PAID day (its creation day's key when not PAID)
-- KEYS[5+n] since: when the merchant's figures started (unix seconds of the first order counted)
-- ARGV    ULID, member, version, status, n, the n statuses in KEYS order, then the figures
--         block (see below): on ("1"/"0"), created-at unix seconds, creation-day key's
--         EXPIREAT ("" past retention), PAID-day key's EXPIREAT ("" none), amount paid in
--         base units, time-to-PAID bucket; then tx hashes
-- Returns 1 when the order was (re)filed, 0 when the index was as new already.
-- Slot: the merchant's, {m:ID}.
local ulid, member, ver, status, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local id = 'ord_' .. ulid
local fig = 6 + n

-- The payments' transaction hashes (whatever the version: adding one twice changes nothing).
for i = fig + 6, #ARGV do
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
local old
if cur then
  local v
  v, old = string.match(cur, '^(%d+):([^:]+)')
  if tonumber(v) >= ver then return 0 end
  if old ~= status and list(old) then redis.call('ZREM', list(old), member) end
end
if list(status) then redis.call('ZADD', list(status), 0, member) end
redis.call('HSET', KEYS[1], ulid, ver .. ':' .. status)

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
  local created, new = tonumber(ARGV[fig + 1]), status
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
