-- ARGV: prefix, user... -> the users some live gateway counts
local now = now_ms()
local out = {}
for i = 2, #ARGV do
  if online_elsewhere(ARGV[i], '', now) then table.insert(out, ARGV[i]) end
end
return out
