-- commit_step: apply one scanner step, fenced by the lease: a watcher that lost its lease
-- gets the error LEASE_LOST and writes nothing.
-- KEYS[1] lease       {prefix}watcher:{NET}:lease
-- KEYS[2] checkpoint  {prefix}watcher:{NET}:checkpoint (string: last final block emitted)
-- KEYS[3] pending     {prefix}watcher:{NET}:pending (hash: key -> seen, unconfirmed transfer)
-- KEYS[4] feed        {prefix}feed:{NET} (stream the edges read through consumer groups)
-- ARGV    token, n, n transfer jsons to append, d, d pending keys to delete,
--         u, u (pending key, transfer json) pairs to set, checkpoint,
--         then the trim: keep-after id ("MS-0": entries from then on are kept whatever
--         the groups acknowledged), ungrouped cap (entries kept while no group exists;
--         -1: do not trim at all), batch (most entries one step trims)
-- Returns the number of feed entries trimmed; error LEASE_LOST when not the lease holder.
-- Slot: the network's, {NET}.
--
-- The trim removes only entries every consumer group of the feed has acknowledged: below
-- each group's oldest pending entry, and up to its last-delivered id when nothing is pending.
-- It runs in the same atomic step as the append, so a group created meanwhile cannot miss
-- anything. Stream ids are compared as numbers: the watcher's ids are Redis-generated
-- (milliseconds, small sequence numbers), exact as Lua doubles.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
local i = 3
local n = tonumber(ARGV[2])
for j = 1, n do
  redis.call('XADD', KEYS[4], '*', 'transfer', ARGV[i]) i = i + 1
end
n = tonumber(ARGV[i]) i = i + 1
for j = 1, n do
  redis.call('HDEL', KEYS[3], ARGV[i]) i = i + 1
end
n = tonumber(ARGV[i]) i = i + 1
for j = 1, n do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i+1]) i = i + 2
end
redis.call('SET', KEYS[2], ARGV[i])

local keep_after, ungrouped_max, batch = ARGV[i+1], tonumber(ARGV[i+2]), tonumber(ARGV[i+3])
if ungrouped_max < 0 or redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local cutoff -- MINID: entries with smaller ids go
local groups = redis.call('XINFO', 'GROUPS', KEYS[4])
if #groups == 0 then
  -- Nobody reads the feed yet (an edge creates its group at the start of the stream):
  -- keep everything up to the cap, then the oldest go.
  local excess = redis.call('XLEN', KEYS[4]) - ungrouped_max
  if excess <= 0 then return 0 end
  local k = math.min(excess, batch)
  local r = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', k + 1)
  cutoff = r[k + 1][1]
else
  cutoff = keep_after
  for _, g in ipairs(groups) do
    local f = {}
    for j = 1, #g, 2 do f[g[j]] = g[j + 1] end
    local safe
    if tonumber(f['pending']) > 0 then
      safe = redis.call('XPENDING', KEYS[4], f['name'])[2] -- its oldest pending entry stays
    else
      local ms, seq = parse(f['last-delivered-id'])
      safe = string.format('%.0f-%.0f', ms, seq + 1) -- everything it read is acknowledged
    end
    if less(safe, cutoff) then cutoff = safe end
  end
  if cutoff == '0-0' then return 0 end
  local r = redis.call('XRANGE', KEYS[4], '-', '(' .. cutoff, 'COUNT', batch + 1)
  if #r == 0 then return 0 end
  if #r > batch then cutoff = r[batch + 1][1] end
end
return redis.call('XTRIM', KEYS[4], 'MINID', cutoff)
