-- create_order: write the order if it does not exist yet, with its first event.
-- KEYS[1] order record  {prefix}order:{ID} (hash: doc, ver, merchant, last, e:1; see orders.go)
-- ARGV    order doc, merchant id, event record
-- Returns {1, the event's id} when created, {0, the stored doc} when it existed.
-- The event id is "{ms}-1": Redis's clock in ms, then the event's number in the order.
-- Slot: the order's, {ID}.
local doc = redis.call('HGET', KEYS[1], 'doc')
if doc then return {0, doc} end
local t = redis.call('TIME')
local id = (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) .. '-1'
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'ver', 1, 'merchant', ARGV[2], 'last', id, 'e:1', id .. ' ' .. ARGV[3])
return {1, id}
