-- recv_claim: credit a recorded transfer to an order that claims it by tx hash, if no order
-- has it, it was first seen after the order was created and a reorg has not removed it.
-- Claiming a transfer already credited to the same order answers 'already' (a retry).
-- KEYS[1] received  {prefix}recv:{NET:ADDR}:tx
-- ARGV    order id, tx hash, log index ('' = any log of the transaction), order created (unix ms)
-- Returns {outcome, TX:LOG, observation json, feed position, order credited}; outcome is
-- 'claimed', 'already', 'other' (credited to another order, named last), 'early' (first seen
-- before the order was created), 'removed' (reorged away) or 'unknown' (not recorded).
-- Slot: the address's, {NET:ADDR}.
local fields = {}
if ARGV[3] ~= '' then
  fields[1] = ARGV[2] .. ':' .. ARGV[3]
else
  local h = redis.call('HGET', KEYS[1], 'h:' .. ARGV[2])
  if h then for li in string.gmatch(h, '%S+') do fields[#fields + 1] = ARGV[2] .. ':' .. li end end
end
local rank = {unknown = 0, removed = 1, early = 2, other = 3}
local why, who = 'unknown', ''
for _, f in ipairs(fields) do
  local t = redis.call('HGET', KEYS[1], 't:' .. f)
  if t then
    local o = redis.call('HGET', KEYS[1], 'o:' .. f)
    local p = redis.call('HGET', KEYS[1], 'p:' .. f)
    local r
    if o == ARGV[1] then return {'already', f, t, p, o} end
    if o then r, who = 'other', o
    elseif tonumber(redis.call('HGET', KEYS[1], 'a:' .. f)) < tonumber(ARGV[4]) then r = 'early'
    elseif cjson.decode(t).kind == 'removed' then r = 'removed'
    else
      redis.call('HSET', KEYS[1], 'o:' .. f, ARGV[1])
      return {'claimed', f, t, p, ARGV[1]}
    end
    if rank[r] > rank[why] then why = r end
  end
end
return {why, '', '', '', who}
