-- recv_forget: drop a transfer record whose retention ended.
-- KEYS[1] received  {prefix}recv:{NET:ADDR}:tx
-- ARGV    TX:LOG, tx hash, log index
-- Returns the order it was credited to, or '' (unmatched, or no record).
-- Slot: the address's, {NET:ADDR}.
local f = ARGV[1]
local o = redis.call('HGET', KEYS[1], 'o:' .. f) or ''
redis.call('HDEL', KEYS[1], 't:' .. f, 'p:' .. f, 'a:' .. f, 'o:' .. f)
local h = redis.call('HGET', KEYS[1], 'h:' .. ARGV[2])
if h then
  local rest = {}
  for li in string.gmatch(h, '%S+') do if li ~= ARGV[3] then rest[#rest + 1] = li end end
  if #rest == 0 then redis.call('HDEL', KEYS[1], 'h:' .. ARGV[2])
  else redis.call('HSET', KEYS[1], 'h:' .. ARGV[2], table.concat(rest, ' ')) end
end
return o
