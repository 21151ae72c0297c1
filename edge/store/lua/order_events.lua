-- order_events: read an order's events after event number ARGV[1] (-1: only the last one).
-- KEYS[1] order record  {prefix}order:{ID}
-- ARGV    after (event number; 0 for all), count, events kept (the oldest number that can
--         still be there is last - kept + 1)
-- Returns {} when there is no order, else {doc, then each event's stored "ID RECORD", oldest
-- first}. Events dropped by retention are skipped.
-- Slot: the order's, {ID}.
local o = redis.call('HMGET', KEYS[1], 'doc', 'last')
if not o[1] or not o[2] then return {} end
local last = tonumber(string.sub(o[2], string.find(o[2], '-', 1, true) + 1))
local out = {o[1]}
local after = tonumber(ARGV[1])
if after < 0 then
  local e = redis.call('HGET', KEYS[1], 'e:' .. last)
  if e then out[2] = e end
  return out
end
local from = math.max(after + 1, last - tonumber(ARGV[3]) + 1, 1)
local count = tonumber(ARGV[2])
for k = from, last do
  local e = redis.call('HGET', KEYS[1], 'e:' .. k)
  if e then
    out[#out+1] = e
    if #out > count then break end
  end
end
return out
