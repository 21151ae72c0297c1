-- lease_acquire: take the network's watcher lease, or renew it if this instance holds it.
-- KEYS[1] lease  {prefix}watcher:{NET}:lease (string: the holder's token; expires after ARGV[2])
-- ARGV    this instance's token, ttl (ms)
-- Returns 1 when this instance holds the lease after the call, 0 when another one does.
-- Slot: the network's, {NET}.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
