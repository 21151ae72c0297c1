-- session_set: update fields of a session that still exists and renew its TTL; a session
-- deleted meanwhile (signed out, revoked) is not brought back as a partial record.
-- KEYS[1] session  {prefix}session:{s:HASH}
-- ARGV    ttl in ms, then field, value pairs
-- Returns 1 when updated, 0 when the session is gone.
-- Slot: the session's {s:HASH}.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
