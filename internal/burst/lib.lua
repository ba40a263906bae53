-- Helpers shared by the detector's scripts; prepended to each script.

-- redisNow returns the Redis server time in Unix milliseconds, the one clock
-- every replica shares.
local function redisNow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- chunked calls cmd on key with list as arguments, in slices, because Lua's
-- unpack fails on a few thousand values.
local function chunked(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end

-- maxActorScan bounds the removals whose actors one summary counts, so a
-- burst of hundreds of thousands of removals cannot hold Redis for seconds.
local maxActorScan = 5000

-- summarize reads the stored removals ids[from..to]. It returns five values:
-- the JSON array of the oldest maxListed of them, the number left out, the
-- JSON array of actors counted over the newest maxActorScan of them, the
-- number of removals those counts cover, and the newest group name.
local function summarize(detailsKey, ids, from, to, maxListed)
  local listed, actors, order = {}, {}, {}
  local groupName = ''
  for k = from, math.min(to, from + maxListed - 1) do
    local detail = redis.call('HGET', detailsKey, ids[k])
    if detail then listed[#listed + 1] = detail end
  end
  local scanFrom = math.max(from, to - maxActorScan + 1)
  for k = scanFrom, to do
    local detail = redis.call('HGET', detailsKey, ids[k])
    if detail then
      local ok, removal = pcall(cjson.decode, detail)
      if ok and type(removal) == 'table' then
        if type(removal.group_name) == 'string' and removal.group_name ~= '' then
          groupName = removal.group_name
        end
        local actor = removal.actor
        if type(actor) == 'table' then
          local key = tostring(actor.id) .. '|' .. tostring(actor.login)
          if not actors[key] then
            actors[key] = {id = actor.id, type = actor.type, login = actor.login, name = actor.name, count = 0}
            order[#order + 1] = key
          end
          actors[key].count = actors[key].count + 1
        end
      end
    end
  end
  local actorList = {}
  for _, key in ipairs(order) do actorList[#actorList + 1] = actors[key] end
  local actorsJSON = '[]'
  if #actorList > 0 then actorsJSON = cjson.encode(actorList) end
  return '[' .. table.concat(listed, ',') .. ']', (to - from + 1) - #listed, actorsJSON, to - scanFrom + 1, groupName
end
