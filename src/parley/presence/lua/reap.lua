-- ARGV: prefix, gateway, only_self ('1': drop this gateway's own old entries) -> users gone
local now = now_ms()
local dead
if ARGV[3] == '1' then
  dead = {ARGV[2]}
else
  dead = redis.call('ZRANGEBYSCORE', P .. 'gateways', '-inf', now)
end
local gone = {}
for _, g in ipairs(dead) do
  if ARGV[3] == '1' or g ~= ARGV[2] then
    redis.call('ZREM', P .. 'gateways', g)
    local key = P .. 'gw:' .. g
    for _, u in ipairs(redis.call('SMEMBERS', key)) do
      redis.call('SREM', P .. 'user:' .. u, g)
      if not online_elsewhere(u, g, now) then table.insert(gone, u) end
    end
    redis.call('DEL', key)
  end
end
return gone
