-- ARGV: prefix, gateway, ttl_ms, set_ttl_ms, user... -> {users gone offline, users back online}
local now = now_ms()
local gid = ARGV[2]
redis.call('ZADD', P .. 'gateways', now + tonumber(ARGV[3]), gid)
local key = P .. 'gw:' .. gid
local want = {}
for i = 5, #ARGV do want[ARGV[i]] = true end
local gone, back = {}, {}
for _, u in ipairs(redis.call('SMEMBERS', key)) do
  if not want[u] then
    redis.call('SREM', key, u)
    redis.call('SREM', P .. 'user:' .. u, gid)
    if not online_elsewhere(u, gid, now) then table.insert(gone, u) end
  end
end
for i = 5, #ARGV do
  local u = ARGV[i]
  redis.call('SADD', P .. 'user:' .. u, gid)
  if redis.call('SADD', key, u) == 1 and not online_elsewhere(u, gid, now) then
    table.insert(back, u)
  end
end
redis.call('PEXPIRE', key, tonumber(ARGV[4]))
return {gone, back}
