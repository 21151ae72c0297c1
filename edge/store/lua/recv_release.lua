-- recv_release: end an order's reservation on a receive address (addresses mode).
-- KEYS[1] reservations  {prefix}recv:{NET:ADDR}:res
-- KEYS[2] reserved min  {prefix}recv:{NET:ADDR}:min
-- ARGV    order id
-- Returns 1 if the order held a reservation, else 0.
-- Slot: the address's, {NET:ADDR}.
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
