-- switch_network: move an open order to another network's deposit (the customer's choice on
-- the checkout), if it is still at version ARGV[1] AND its stored document shows it PENDING,
-- with nothing received, on the deposit the switch starts from. Writes the new document and
-- the order.network_changed event with its webhook delivery record, as commit_order does.
-- KEYS[1] order record   {prefix}order:{ID} (see commit_order.lua)
-- KEYS[2] webhook queue  {prefix}order:{ID}:whq
-- ARGV    expected version, new doc, events kept, the network and address switched from,
--         event record, event id (evt_), delivery json object
-- Returns {'ok', previous last event id, the new event's id}; {'conflict'} when the version
-- changed (nothing written: reload and decide again); {'received'} when the stored order has
-- a payment or amount seen, {'closed'} when it is not PENDING, {'moved'} when it is on
-- another deposit than the one given (nothing written in each case).
-- Slot: the order's, {ID}.
local cur = redis.call('HMGET', KEYS[1], 'ver', 'doc', 'last')
if cur[1] ~= ARGV[1] or not cur[2] then return {'conflict'} end
local ok, doc = pcall(cjson.decode, cur[2])
if not ok or doc.v == nil then return {'closed'} end -- not a compact document: never switchable
-- The compact document leaves zero values out (compact.go): p payments, ap paid, apn pending.
if (type(doc.p) == 'table' and next(doc.p) ~= nil) or (tonumber(doc.ap) or 0) ~= 0 or (tonumber(doc.apn) or 0) ~= 0 then
  return {'received'}
end
if doc.s ~= 'PENDING' then return {'closed'} end
if doc.n ~= ARGV[4] or doc.ad ~= ARGV[5] then return {'moved'} end
local prev = cur[3] or '0-0'
local dash = string.find(prev, '-', 1, true)
local lastms = tonumber(string.sub(prev, 1, dash - 1))
local n = tonumber(string.sub(prev, dash + 1)) + 1
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ms < lastms then ms = lastms end
local id = string.format('%d-%d', ms, n)
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'last', id, 'e:' .. n, id .. ' ' .. ARGV[6])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
local keep = tonumber(ARGV[3])
if n - keep >= 1 then redis.call('HDEL', KEYS[1], 'e:' .. (n - keep)) end
redis.call('HSET', KEYS[1], 'w:' .. ARGV[7], '{"n":' .. n .. ',' .. string.sub(ARGV[8], 2))
redis.call('RPUSH', KEYS[2], ARGV[7])
return {'ok', prev, id}
