-- order_set_field: set one field of an existing order's record (the dashboard's review and
-- last test webhook), never creating a record for an order that does not exist.
-- KEYS[1] order record {prefix}order:{ID} (hash; see commit_order.lua)
-- ARGV    the field, its value
-- Returns 1 when written, 0 when there is no such order (nothing written).
-- Slot: the order's, {ID}.
if redis.call('HEXISTS', KEYS[1], 'ver') == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
