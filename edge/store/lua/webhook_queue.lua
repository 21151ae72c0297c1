-- webhook_queue: read an order with the records of its pending webhook deliveries.
-- KEYS[1] webhook queue    {prefix}order:{ID}:whq
-- KEYS[2] webhook records  {prefix}order:{ID}:wh
-- KEYS[3] order record     {prefix}order:{ID}
-- ARGV    none
-- Returns {} when the queue is empty, else {doc, merchant, version, then one record (or nil
-- for a queued id without one) per queued event id, in queue order}.
-- Slot: the order's, {ID}.
local q = redis.call('LRANGE', KEYS[1], 0, -1)
if #q == 0 then return {} end
local o = redis.call('HMGET', KEYS[3], 'doc', 'merchant', 'ver')
local recs = redis.call('HMGET', KEYS[2], unpack(q))
table.insert(recs, 1, o[3])
table.insert(recs, 1, o[2])
table.insert(recs, 1, o[1])
return recs
