-- webhook_save: replace a delivery record if its rev is still ARGV[2] (compare-and-set),
-- keep the queue in step with its status, and log the attempt (always: it happened).
-- KEYS[1] webhook records   {prefix}order:{ID}:wh
-- KEYS[2] webhook queue     {prefix}order:{ID}:whq
-- KEYS[3] attempt log       {prefix}order:{ID}:wha (stream, approximately capped at ARGV[7])
-- ARGV    event id, expected rev, new record json, new status, attempt json or "",
--         requeue ("1": put a pending record back at the end of the queue if absent), log cap
-- Returns -1 when there is no such record, 0 when it changed meanwhile (not written), 1 saved.
-- Slot: the order's, {ID}.
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'event_id', ARGV[1], 'attempt', ARGV[5])
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if tonumber(cjson.decode(cur)['rev']) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= 'pending' then
  redis.call('LREM', KEYS[2], 0, ARGV[1])
elseif ARGV[6] == '1' and not redis.call('LPOS', KEYS[2], ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
return 1
