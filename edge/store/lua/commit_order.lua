-- commit_order: replace the order if its version is still ARGV[1] (compare-and-set),
-- appending its events and, for the events merchants get by webhook, their delivery records
-- to the order's webhook outbox, so no transition exists without its webhook.
-- KEYS[1] order record     {prefix}order:{ID}
-- KEYS[2] event stream     {prefix}order:{ID}:events
-- KEYS[3] webhook records  {prefix}order:{ID}:wh  (hash: event id -> delivery json)
-- KEYS[4] webhook queue    {prefix}order:{ID}:whq (list of pending event ids, event order)
-- ARGV    expected version, doc, stream cap, feed positions json or "" (unchanged),
--         then per event: type, event json, event id, delivery json or "" (no webhook)
-- Returns false (nil) if the version changed (nothing written), else the id of the order's
-- previous last event followed by the new events' ids, so change-feed readers see gaps.
-- Slot: the order's, {ID}.
if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then return false end
local prev = redis.call('HGET', KEYS[1], 'last') or '0-0'
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'feedpos', ARGV[4]) end
local ids = {prev}
for i = 5, #ARGV, 4 do
  ids[#ids+1] = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'type', ARGV[i], 'event', ARGV[i+1])
  if ARGV[i+3] ~= '' then
    redis.call('HSET', KEYS[3], ARGV[i+2], ARGV[i+3])
    redis.call('RPUSH', KEYS[4], ARGV[i+2])
  end
end
if #ids > 1 then redis.call('HSET', KEYS[1], 'last', ids[#ids]) end
return ids
