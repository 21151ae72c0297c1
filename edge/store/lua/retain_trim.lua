-- retain_trim: drop what a finished order no longer needs once its retention window passed:
-- every event but the last, and the webhook delivery records (with their attempt logs) that
-- are no longer pending. The document, version, merchant, feed positions, the last event and
-- every pending delivery stay (the document and feed positions rewritten shorter when the
-- caller gives them). Keys of the earlier per-order layout go with them.
-- KEYS[1] order record     {prefix}order:{ID} (hash; see commit_order.lua)
-- KEYS[2] webhook queue    {prefix}order:{ID}:whq (list of pending event ids)
-- KEYS[3] legacy events    {prefix}order:{ID}:events (stream of the earlier layout)
-- KEYS[4] legacy records   {prefix}order:{ID}:wh (hash event id -> delivery, earlier layout)
-- KEYS[5] legacy attempts  {prefix}order:{ID}:wha (stream, earlier layout)
-- ARGV    expected version (the caller checked the order is finished at it), now (unix ms,
--         stored as field trimmed; field retrim is set while pending deliveries were kept),
--         the last event's field and its record rewritten without the order state it
--         shares with the document, or "" "" (left as it is), then the document in its
--         finished form and the feed positions with references to the payments (each ""
--         to leave it as it is; both are the same order as stored, in fewer bytes)
-- Returns -1 when the order is gone or its version changed (nothing written), else {the
-- number of hash fields and keys removed, the number of pending deliveries kept}.
-- Slot: the order's, {ID}.
if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then return -1 end
local last = redis.call('HGET', KEYS[1], 'last') or ''
local lastField = ''
local dash = string.find(last, '-', 1, true)
if dash then lastField = 'e:' .. string.sub(last, dash + 1) end
local pending = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do pending[id] = true end
local function finished(rec)
  local ok, d = pcall(cjson.decode, rec)
  return ok and type(d) == 'table' and d['status'] ~= nil and d['status'] ~= 'pending'
end
local drop, kept = {}, 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local f, v = fields[i], fields[i + 1]
  local kind, rest = string.sub(f, 1, 2), string.sub(f, 3)
  if kind == 'e:' and f ~= lastField then
    drop[#drop + 1] = f
  elseif kind == 'w:' then
    if not pending[rest] and finished(v) then
      drop[#drop + 1] = f
      drop[#drop + 1] = 'a:' .. rest
    else
      kept = kept + 1
    end
  end
end
drop[#drop + 1] = 'fin' -- its time is the last event's again (see RetentionState)
local removed = 0
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'doc', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'feedpos', ARGV[6]) end
local rewritten = ARGV[3] ~= '' or ARGV[5] ~= '' or ARGV[6] ~= ''
for i = 1, #drop, 500 do
  removed = removed + redis.call('HDEL', KEYS[1], unpack(drop, i, math.min(i + 499, #drop)))
end
if removed > 0 or rewritten then
  -- Written anew, the hash is encoded for what it holds now: a hash never shrinks its table
  -- (or goes back to a listpack) when fields are deleted.
  local rest = redis.call('HGETALL', KEYS[1])
  redis.call('DEL', KEYS[1])
  for i = 1, #rest, 500 do
    redis.call('HSET', KEYS[1], unpack(rest, i, math.min(i + 499, #rest)))
  end
end
removed = removed + redis.call('DEL', KEYS[3])
local keepLegacy = false
for i, v in ipairs(redis.call('HVALS', KEYS[4])) do
  if not finished(v) then keepLegacy = true kept = kept + 1 end
end
if not keepLegacy then removed = removed + redis.call('DEL', KEYS[4], KEYS[5]) end
redis.call('HSET', KEYS[1], 'trimmed', ARGV[2])
if kept > 0 then redis.call('HSET', KEYS[1], 'retrim', 1) else redis.call('HDEL', KEYS[1], 'retrim') end
return {removed, kept}
