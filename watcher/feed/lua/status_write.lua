-- status_write: publish the active watcher's status record, fenced by the lease: a watcher
-- that lost its lease gets the error LEASE_LOST and writes nothing.
-- KEYS[1] lease   {prefix}watcher:{NET}:lease
-- KEYS[2] status  {prefix}watcher:{NET}:status (hash: h head, at unix ms it was read, cp
--                 checkpoint then, eh / et endpoints healthy / total, p primary endpoint's
--                 label or ""; expires after ARGV[2])
-- ARGV    token, ttl (ms), head, at, checkpoint, healthy, total, primary
-- Returns 1.
-- Slot: the network's, {NET}.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
redis.call('HSET', KEYS[2], 'h', ARGV[3], 'at', ARGV[4], 'cp', ARGV[5], 'eh', ARGV[6], 'et', ARGV[7], 'p', ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
