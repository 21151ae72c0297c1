-- webhook_save: replace a delivery record if its rev is still ARGV[2] (compare-and-set),
-- keep the queue in step with its status, and log the attempt (always: it happened).
-- KEYS[1] order record      {prefix}order:{ID} (fields w:EVT record, a:EVT attempt log: one
--                           attempt json a line, the last ARGV[7] kept)
-- KEYS[2] webhook queue     {prefix}order:{ID}:whq
-- ARGV    event id, expected rev, new record json, new status, attempt json or "",
--         requeue ("1": put a pending record back at the end of the queue if absent), log cap
-- Returns -1 when there is no such record, 0 when it changed meanwhile (not written), 1 saved.
-- Slot: the order's, {ID}.
local cur = redis.call('HGET', KEYS[1], 'w:' .. ARGV[1])
if not cur then return -1 end
if ARGV[5] ~= '' then
  local log = redis.call('HGET', KEYS[1], 'a:' .. ARGV[1])
  local lines = {}
  if log then
    for l in string.gmatch(log, '[^\n]+') do lines[#lines+1] = l end
  end
  lines[#lines+1] = ARGV[5]
  local cap = tonumber(ARGV[7])
  local first = math.max(1, #lines - cap + 1)
  redis.call('HSET', KEYS[1], 'a:' .. ARGV[1], table.concat(lines, '\n', first, #lines))
end
if tonumber(cjson.decode(cur)['rev']) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'w:' .. ARGV[1], ARGV[3])
if ARGV[4] ~= 'pending' then
  redis.call('LREM', KEYS[2], 0, ARGV[1])
elseif ARGV[6] == '1' and not redis.call('LPOS', KEYS[2], ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
return 1
