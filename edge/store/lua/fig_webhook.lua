-- fig_webhook: add one saved webhook outcome to its merchant's day figures, once: the guard
-- field (event id : the delivery record's revision the save wrote) is set the first time, and
-- a retried call finds it and adds nothing.
-- KEYS[1] day figures  {prefix}merchant:{m:ID}:fig:YYYYMMDD (fields wa, wo, wf)
-- KEYS[2] guards       {prefix}merchant:{m:ID}:fig:whg:YYYYMMDD (hash: EVT:REV -> 1)
-- ARGV    guard field, attempts (0/1), ok (0/1), gave up (0/1), day key's EXPIREAT, guard ttl (s)
-- Returns 1 when counted, 0 when counted before.
-- Slot: the merchant's, {m:ID}.
if redis.call('HSETNX', KEYS[2], ARGV[1], 1) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[6])
if ARGV[2] ~= '0' then redis.call('HINCRBY', KEYS[1], 'wa', ARGV[2]) end
if ARGV[3] ~= '0' then redis.call('HINCRBY', KEYS[1], 'wo', ARGV[3]) end
if ARGV[4] ~= '0' then redis.call('HINCRBY', KEYS[1], 'wf', ARGV[4]) end
redis.call('EXPIREAT', KEYS[1], ARGV[5])
return 1
