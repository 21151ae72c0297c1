-- retain_unbind: delete a deposit address's binding if it still names the order.
-- KEYS[1] address binding  {prefix}addr:{NET:ADDR} (string: order id, or mer_… in addresses mode)
-- ARGV    order id
-- Returns 1 when deleted, 0 when it names something else or is gone.
-- Slot: the address's, {NET:ADDR}.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
