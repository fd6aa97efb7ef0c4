-- Shared by every presence script (prepended to each): the key prefix, Redis's clock
-- and "does a live gateway other than gid count this user".
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function live(g, now)
  local exp = redis.call('ZSCORE', P .. 'gateways', g)
  return exp and tonumber(exp) > now
end
local function online_elsewhere(uid, gid, now)
  for _, g in ipairs(redis.call('SMEMBERS', P .. 'user:' .. uid)) do
    if g ~= gid and live(g, now) then return true end
  end
  return false
end
