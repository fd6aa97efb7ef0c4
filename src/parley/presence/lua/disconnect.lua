-- ARGV: prefix, gateway, user -> 1 when the user is now online nowhere
local now = now_ms()
redis.call('SREM', P .. 'gw:' .. ARGV[2], ARGV[3])
redis.call('SREM', P .. 'user:' .. ARGV[3], ARGV[2])
if online_elsewhere(ARGV[3], ARGV[2], now) then return 0 end
return 1
