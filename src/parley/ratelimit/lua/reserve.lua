-- Count a batch of attempts in order, each against every one of its keys or against none.
-- ARGV[1]: the number of attempts; then per attempt: its ticket, its number of keys n,
-- and n pairs of limit and window (ms); its n keys come next in KEYS.
-- Returns per attempt 0 when counted, else milliseconds until it could pass.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local waits = {}
local a = 2
local k = 1
for i = 1, tonumber(ARGV[1]) do
  local ticket = ARGV[a]
  local n = tonumber(ARGV[a + 1])
  a = a + 2
  local wait = 0
  for j = 0, n - 1 do
    local key = KEYS[k + j]
    local limit = tonumber(ARGV[a + 2 * j])
    local window = tonumber(ARGV[a + 2 * j + 1])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count >= limit then
      local first = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, tonumber(first[2]) + window - now)
    end
  end
  if wait == 0 then
    for j = 0, n - 1 do
      redis.call('ZADD', KEYS[k + j], now, ticket)
      redis.call('PEXPIRE', KEYS[k + j], tonumber(ARGV[a + 2 * j + 1]))
    end
  end
  waits[i] = wait
  k = k + n
  a = a + 2 * n
end
return waits
