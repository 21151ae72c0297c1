-- webhook_queue: read an order with the records of its pending webhook deliveries and the
-- events they deliver (each record names its event's number, field n).
-- KEYS[1] webhook queue    {prefix}order:{ID}:whq
-- KEYS[2] order record     {prefix}order:{ID}
-- ARGV    none
-- Returns {} when the queue is empty, else {doc, merchant, version, then per queued event
-- id its delivery record and its stored event (either nil when missing), in queue order}.
-- Slot: the order's, {ID}.
local q = redis.call('LRANGE', KEYS[1], 0, -1)
if #q == 0 then return {} end
local out = redis.call('HMGET', KEYS[2], 'doc', 'merchant', 'ver')
for _, id in ipairs(q) do
  local rec = redis.call('HGET', KEYS[2], 'w:' .. id)
  local ev = false
  if rec then
    local ok, d = pcall(cjson.decode, rec)
    if ok and type(d) == 'table' and d['n'] then
      ev = redis.call('HGET', KEYS[2], 'e:' .. tostring(d['n']))
    end
  end
  out[#out+1] = rec
  out[#out+1] = ev
end
return out
