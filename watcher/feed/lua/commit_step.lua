-- commit_step: apply one scanner step, fenced by the lease: a watcher that lost its lease
-- gets the error LEASE_LOST and writes nothing.
-- KEYS[1] lease       {prefix}watcher:{NET}:lease
-- KEYS[2] checkpoint  {prefix}watcher:{NET}:checkpoint (string: last final block emitted)
-- KEYS[3] pending     {prefix}watcher:{NET}:pending (hash: key -> seen, unconfirmed transfer)
-- KEYS[4] feed        {prefix}feed:{NET} (stream the edges read through consumer groups)
-- ARGV    token, n, n transfer jsons to append, d, d pending keys to delete,
--         u, u (pending key, transfer json) pairs to set, checkpoint
-- Returns the number of pending entries set; error LEASE_LOST when not the lease holder.
-- Slot: the network's, {NET}.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
local i = 3
local n = tonumber(ARGV[2])
for j = 1, n do
  redis.call('XADD', KEYS[4], '*', 'transfer', ARGV[i]) i = i + 1
end
n = tonumber(ARGV[i]) i = i + 1
for j = 1, n do
  redis.call('HDEL', KEYS[3], ARGV[i]) i = i + 1
end
n = tonumber(ARGV[i]) i = i + 1
for j = 1, n do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i+1]) i = i + 2
end
redis.call('SET', KEYS[2], ARGV[i])
return n
