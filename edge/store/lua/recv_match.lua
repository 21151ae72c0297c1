-- recv_match: record an observation of a transfer to a receive address and, at its first
-- observation, credit it to the order whose reservation it matches: exactly its pay_amount,
-- or within that order's tolerance when no other reservation could be the one it pays.
-- Later observations go to whichever order it was credited to (or claimed by), if any.
-- KEYS[1] reservations  {prefix}recv:{NET:ADDR}:res
-- KEYS[2] reserved min  {prefix}recv:{NET:ADDR}:min
-- KEYS[3] received      {prefix}recv:{NET:ADDR}:tx (fields t:, p:, a:, o: per TX:LOG; h:TX)
-- ARGV    TX:LOG, tx hash, log index, kind, amount (base units), observation json,
--         feed position (ms-seq), now (unix ms), dust (1 = below the dust threshold)
-- Returns {state, order id or '', first seen (unix ms), 1 if first observation}; state is
-- 'stale' (older than the observation recorded: nothing written), 'credited', 'unmatched'
-- or 'dust' (a first observation of dust matching no pair exactly: nothing recorded).
-- Slot: the address's, {NET:ADDR}.
local f = ARGV[1]
local function older(a, b) -- stream ids "ms-seq"
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local order = redis.call('HGET', KEYS[3], 'o:' .. f)
local pos = redis.call('HGET', KEYS[3], 'p:' .. f)
local first = redis.call('HGET', KEYS[3], 'a:' .. f)
if pos and older(ARGV[7], pos) then return {'stale', order or '', first or '0', 0} end
local new = 0
if not first then
  local amt = tonumber(ARGV[5])
  if ARGV[4] ~= 'removed' then
    local ex = redis.call('ZRANGEBYSCORE', KEYS[1], amt, amt, 'LIMIT', 0, 1)
    if ex[1] then
      order = ex[1]
    elseif ARGV[9] ~= '1' then
      -- Tolerance: only if exactly one reservation's band [PAID bound, pay_amount] holds amt
      -- and no pair in that band lies below amt (amt could be its overpayment). A band
      -- holding amt belongs to a pair above amt by at most amt/3 + 1 USDT (tolerance ≤ 25 %,
      -- offset cap ≤ 1 USDT): those pairs are read, at most scanMax; more is ambiguous, and
      -- the transfer stays unmatched (claimable), never credited to a guess.
      local scanMax = 32
      local up = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[5], math.floor(amt * 4 / 3) + 1000001,
        'LIMIT', 0, scanMax + 1)
      if #up > 0 and #up <= scanMax then
        local lows = redis.call('HMGET', KEYS[2], unpack(up))
        local hit, lo, many = nil, nil, false
        for i, id in ipairs(up) do
          local l = tonumber(lows[i] or '')
          if l and l <= amt then
            if hit then many = true break end
            hit, lo = id, l
          end
        end
        if hit and not many and redis.call('ZCOUNT', KEYS[1], lo, amt) == 0 then order = hit end
      end
    end
  end
  if not order and ARGV[9] == '1' then return {'dust', '', '0', 0} end
  first, new = ARGV[8], 1
  redis.call('HSET', KEYS[3], 'a:' .. f, first)
  local h = redis.call('HGET', KEYS[3], 'h:' .. ARGV[2])
  redis.call('HSET', KEYS[3], 'h:' .. ARGV[2], h and (h .. ' ' .. ARGV[3]) or ARGV[3])
  if order then redis.call('HSET', KEYS[3], 'o:' .. f, order) end
end
redis.call('HSET', KEYS[3], 't:' .. f, ARGV[6], 'p:' .. f, ARGV[7])
if order then return {'credited', order, first, new} end
return {'unmatched', '', first, new}
