-- lease_release: give the lease up if this instance holds it (a standby takes over at once).
-- KEYS[1] lease  {prefix}watcher:{NET}:lease
-- ARGV    this instance's token
-- Returns 1 when released, 0 when another instance holds it (or nobody does).
-- Slot: the network's, {NET}.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
