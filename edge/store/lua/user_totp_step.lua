-- user_totp_step: accept a TOTP code's time step once: record it when it is later than the
-- last step accepted for the user.
-- KEYS[1] user  {prefix}user:{u:ID}
-- ARGV    step (the code's time step: unix seconds / period)
-- Returns 1 when recorded, 0 when that step or a later one was used already (a replay).
-- Slot: the user's {u:ID}.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'totp_step') or '-1')
local step = tonumber(ARGV[1])
if step <= last then return 0 end
redis.call('HSET', KEYS[1], 'totp_step', ARGV[1])
return 1
