-- Records one batch of removals for one group, prunes what can no longer be
-- part of a burst, counts, and takes the cooldown and enqueues the alert when
-- the batch completes a burst. Everything happens in this one script so that
-- no interleaving of replicas can produce zero or two alerts for one burst,
-- and no crash can separate winning the cooldown from queueing the alert.
--
-- KEYS: 1 removals zset (uuid -> published ms)   2 details hash (uuid -> JSON)
--       3 reported zset (uuids already in an alert) 4 cooldown string
--       5 burst state hash   6 pending zset (uuids recorded during a burst)
--       7 shard alert stream  8 shard follow-up schedule zset
-- ARGV: 1 threshold  2 window ms  3 cooldown ms  4 max event age ms
--       5 group id  6 source  7 max listed  8 stream ttl ms  9 consumer group
--       10 max clock skew ms  11.. triples of uuid, published ms, removal JSON

local threshold = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cooldown = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
local groupID = ARGV[5]
local source = ARGV[6]
local maxListed = tonumber(ARGV[7])
local streamTTL = tonumber(ARGV[8])
local consumerGroup = ARGV[9]
local maxSkew = tonumber(ARGV[10])

local now = redisNow()
local oldest = now - maxAge
-- A removal published at oldest may still complete a burst with removals up
-- to one window before it, so those are kept and nothing older.
local keepFrom = oldest - window
local retention = maxAge + window

local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. keepFrom)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. keepFrom)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. keepFrom)
  -- Removals waiting for a follow-up keep their details until it has run.
  local unused = {}
  for _, id in ipairs(expired) do
    if not redis.call('ZSCORE', KEYS[6], id) then unused[#unused + 1] = id end
  end
  chunked('HDEL', KEYS[2], unused)
end

local added, duplicates, tooOld, future = 0, 0, 0, 0
local minNew, maxNew
local newIDs, newList = {}, {}
for i = 11, #ARGV, 3 do
  local id = ARGV[i]
  local score = tonumber(ARGV[i + 1])
  -- A removal a little ahead of Redis time is clock skew and counts as now.
  -- One far ahead is not a real removal time and would fake a burst.
  if score > now + maxSkew then
    future = future + 1
  elseif score < oldest then
    tooOld = tooOld + 1
  elseif redis.call('ZADD', KEYS[1], 'NX', math.min(score, now), id) == 1 then
    redis.call('HSET', KEYS[2], id, ARGV[i + 2])
    added = added + 1
    newIDs[id] = true
    newList[#newList + 1] = id
    score = math.min(score, now)
    if minNew == nil or score < minNew then minNew = score end
    if maxNew == nil or score > maxNew then maxNew = score end
  else
    duplicates = duplicates + 1
  end
end

local function result(alertID, count)
  return {added, duplicates, tooOld, alertID or '', count or 0, newList, future}
end

if added == 0 then
  return result()
end
for _, k in ipairs({KEYS[1], KEYS[2], KEYS[3]}) do
  redis.call('PEXPIRE', k, retention)
end

-- During a burst the new removals wait for the follow-up at the end of the
-- cooldown period instead of starting another alert.
if redis.call('EXISTS', KEYS[5]) == 1 then
  local pending = {}
  for id in pairs(newIDs) do
    pending[#pending + 1] = redis.call('ZSCORE', KEYS[1], id)
    pending[#pending + 1] = id
  end
  chunked('ZADD', KEYS[6], pending)
  redis.call('PEXPIRE', KEYS[6], retention + cooldown)
  return result()
end

-- Find the largest set of unreported removals lying within one window that
-- contains at least one new removal: for each right end j, the window is
-- [i(j), j] with s[j] - s[i] <= window.
local flat = redis.call('ZRANGEBYSCORE', KEYS[1], minNew - window, maxNew + window, 'WITHSCORES')
local ids, scores = {}, {}
for k = 1, #flat, 2 do
  if not redis.call('ZSCORE', KEYS[3], flat[k]) then
    ids[#ids + 1] = flat[k]
    scores[#scores + 1] = tonumber(flat[k + 1])
  end
end
local bestI, bestJ, bestCount = 0, 0, 0
local i, lastNew = 1, 0
for j = 1, #ids do
  if newIDs[ids[j]] then lastNew = j end
  while scores[j] - scores[i] > window do i = i + 1 end
  local count = j - i + 1
  if lastNew >= i and count > bestCount then
    bestI, bestJ, bestCount = i, j, count
  end
end
if bestCount < threshold then
  return result()
end
if not redis.call('SET', KEYS[4], now, 'NX', 'PX', cooldown) then
  return result(nil, bestCount)
end

-- This replica won the cooldown: queue the alert, mark its removals as
-- reported, and schedule the follow-up for the end of the cooldown period.
local reported = {}
for k = bestI, bestJ do
  reported[#reported + 1] = scores[k]
  reported[#reported + 1] = ids[k]
end
chunked('ZADD', KEYS[3], reported)
redis.call('PEXPIRE', KEYS[3], retention)

-- New removals outside the alerted window, such as the rest of a System Log
-- page that spans more than one window, go to the follow-up so that every
-- removal is reported once.
local inWindow, rest = {}, {}
for k = bestI, bestJ do inWindow[ids[k]] = true end
for k = 1, #ids do
  if newIDs[ids[k]] and not inWindow[ids[k]] then
    rest[#rest + 1] = scores[k]
    rest[#rest + 1] = ids[k]
  end
end
if #rest > 0 then
  chunked('ZADD', KEYS[6], rest)
  redis.call('PEXPIRE', KEYS[6], retention + cooldown)
end
local listed, omitted, actorsJSON, actorsCounted, lastName = summarize(KEYS[2], ids, bestI, bestJ, maxListed)

redis.call('HSET', KEYS[5], 'total', bestCount, 'started', now, 'group_name', lastName, 'source', source)
redis.call('PEXPIRE', KEYS[5], retention + cooldown)
redis.call('ZADD', KEYS[8], now + cooldown, groupID)
redis.call('PEXPIRE', KEYS[8], retention + cooldown)

if redis.call('EXISTS', KEYS[7]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[7], consumerGroup, '0', 'MKSTREAM')
end
local entryID = redis.call('XADD', KEYS[7], '*',
  'kind', 'burst', 'source', source, 'group_id', groupID, 'group_name', lastName,
  'count', bestCount, 'total', bestCount, 'first', scores[bestI], 'last', scores[bestJ],
  'detected', now, 'threshold', threshold, 'window', window,
  'removals', listed, 'omitted', omitted, 'actors', actorsJSON, 'actors_counted', actorsCounted)
redis.call('PEXPIRE', KEYS[7], streamTTL)
return result(entryID, bestCount)
