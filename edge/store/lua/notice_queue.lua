-- notice_queue: queue a merchant-level webhook event (a notice: about a transfer, not an
-- order) once. A notice id names its subject (e.g. one transfer), so the first call writes it
-- and every later call, a redelivered feed entry or another observation, changes nothing.
-- KEYS[1] notice record   {prefix}notice:{ID} (fields doc: the webhook body, merchant, ver,
--                         w:EVT delivery record, a:EVT attempt log: the order outbox's layout)
-- KEYS[2] notice queue    {prefix}notice:{ID}:whq
-- ARGV    event id, delivery record json, webhook body, merchant id, retention (ms)
-- Returns 1 when queued now, 0 when the notice existed (its queue length then follows, so a
-- caller that died before scheduling it can schedule it again).
-- Slot: the notice's, {ID}.
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('LLEN', KEYS[2])} end
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'merchant', ARGV[4], 'ver', 0, 'w:' .. ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {1, 1}
