-- ARGV: prefix, gateway, ttl_ms, user -> 1 when the user was online nowhere else
local now = now_ms()
redis.call('ZADD', P .. 'gateways', now + tonumber(ARGV[3]), ARGV[2])
redis.call('SADD', P .. 'gw:' .. ARGV[2], ARGV[4])
redis.call('SADD', P .. 'user:' .. ARGV[4], ARGV[2])
if online_elsewhere(ARGV[4], ARGV[2], now) then return 0 end
return 1
