-- create_order: write the order if it does not exist yet, with its first event.
-- KEYS[1] order record  {prefix}order:{ID} (hash: doc, ver, merchant, last)
-- KEYS[2] event stream  {prefix}order:{ID}:events
-- ARGV    order doc, merchant id, event type, event json, stream cap (approximate)
-- Returns {1, the event's stream id} when created, {0, the stored doc} when it existed.
-- Slot: the order's, {ID}.
local doc = redis.call('HGET', KEYS[1], 'doc')
if doc then return {0, doc} end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', ARGV[3], 'event', ARGV[4])
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'ver', 1, 'merchant', ARGV[2], 'last', id)
return {1, id}
