-- commit_order: replace the order if its version is still ARGV[1] (compare-and-set),
-- appending its events and, for the events merchants get by webhook, their delivery records
-- to the order's webhook outbox, so no transition exists without its webhook.
-- KEYS[1] order record     {prefix}order:{ID} (hash: doc, ver, merchant, last, feedpos, fin,
--                          e:N events, w:EVT delivery records, a:EVT attempt logs)
-- KEYS[2] webhook queue    {prefix}order:{ID}:whq (list of pending event ids, event order)
-- ARGV    expected version, doc, events kept (older ones are dropped), feed positions json
--         or "" (unchanged), "1" if the order is terminal after the commit (its retention
--         clock, field fin, restarts) else "", then per event: event record, event id (evt_),
--         delivery json object or "" (no webhook; stored with the event's number, "n", first)
-- Event N of the order gets the id "{ms}-{N}", ms Redis's clock but never below the
-- previous event's, so ids grow per order (the SSE ids; see events.go).
-- Returns false (nil) if the version changed (nothing written), else the id of the order's
-- previous last event followed by the new events' ids, so change-feed readers see gaps.
-- Slot: the order's, {ID}.
if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then return false end
local prev = redis.call('HGET', KEYS[1], 'last') or '0-0'
local dash = string.find(prev, '-', 1, true)
local lastms = tonumber(string.sub(prev, 1, dash - 1))
local n = tonumber(string.sub(prev, dash + 1))
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ms < lastms then ms = lastms end
-- Retention may have stored the last event without the state it shared with the document
-- ("sd":true; see compactLastEvent). The document is about to change: the event keeps that
-- state by taking the current document along, spliced in as raw JSON (field "sdoc").
if n > 0 then
  local le = redis.call('HGET', KEYS[1], 'e:' .. n)
  if le and string.find(le, '"sd":true', 1, true) and not string.find(le, '"sdoc":', 1, true) then
    local doc = redis.call('HGET', KEYS[1], 'doc')
    if doc then
      redis.call('HSET', KEYS[1], 'e:' .. n, string.sub(le, 1, -2) .. ',"sdoc":' .. doc .. '}')
    end
  end
end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'feedpos', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'fin', ms) end
local keep = tonumber(ARGV[3])
local ids = {prev}
for i = 6, #ARGV, 3 do
  n = n + 1
  local id = string.format('%d-%d', ms, n)
  ids[#ids+1] = id
  redis.call('HSET', KEYS[1], 'e:' .. n, id .. ' ' .. ARGV[i])
  if n - keep >= 1 then redis.call('HDEL', KEYS[1], 'e:' .. (n - keep)) end
  if ARGV[i+2] ~= '' then
    redis.call('HSET', KEYS[1], 'w:' .. ARGV[i+1], '{"n":' .. n .. ',' .. string.sub(ARGV[i+2], 2))
    redis.call('RPUSH', KEYS[2], ARGV[i+1])
  end
end
if #ids > 1 then redis.call('HSET', KEYS[1], 'last', ids[#ids]) end
return ids
