-- Ends one cooldown period of one group's burst. When removals were recorded
-- during the period, it queues one follow-up alert with them, marks them
-- reported and starts another cooldown period. Otherwise the burst is over
-- and its state is deleted. The schedule entry is checked and moved in the
-- same script, so exactly one replica sends each follow-up.
--
-- KEYS: 1 shard follow-up schedule zset  2 burst state hash  3 pending zset
--       4 details hash  5 reported zset  6 cooldown string  7 shard alert stream
-- ARGV: 1 group id  2 cooldown ms  3 max listed  4 stream ttl ms
--       5 consumer group  6 retention ms  7 threshold  8 window ms  9 source

local groupID = ARGV[1]
local cooldown = tonumber(ARGV[2])
local maxListed = tonumber(ARGV[3])
local streamTTL = tonumber(ARGV[4])
local consumerGroup = ARGV[5]
local retention = tonumber(ARGV[6])

local now = redisNow()
local due = redis.call('ZSCORE', KEYS[1], groupID)
if not due or tonumber(due) > now then
  return ''
end

local flat = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
redis.call('DEL', KEYS[3])
if #flat == 0 then
  redis.call('ZREM', KEYS[1], groupID)
  -- The cooldown key expires at this same millisecond; deleting it keeps a
  -- burst recorded in that millisecond from finding it still set.
  redis.call('DEL', KEYS[2], KEYS[6])
  return ''
end

local ids, reported = {}, {}
local first, last
for k = 1, #flat, 2 do
  local score = tonumber(flat[k + 1])
  ids[#ids + 1] = flat[k]
  reported[#reported + 1] = flat[k + 1]
  reported[#reported + 1] = flat[k]
  if first == nil or score < first then first = score end
  if last == nil or score > last then last = score end
end
chunked('ZADD', KEYS[5], reported)
redis.call('PEXPIRE', KEYS[5], retention)

local count = #ids
local total = redis.call('HINCRBY', KEYS[2], 'total', count)
local listed, omitted, actorsJSON, actorsCounted, groupName = summarize(KEYS[4], ids, 1, count, maxListed)
if groupName == '' then
  groupName = redis.call('HGET', KEYS[2], 'group_name') or ''
end

redis.call('SET', KEYS[6], now, 'PX', cooldown)
redis.call('ZADD', KEYS[1], now + cooldown, groupID)
redis.call('PEXPIRE', KEYS[1], retention + cooldown)
redis.call('PEXPIRE', KEYS[2], retention + cooldown)

if redis.call('EXISTS', KEYS[7]) == 0 then
  redis.call('XGROUP', 'CREATE', KEYS[7], consumerGroup, '0', 'MKSTREAM')
end
local source = redis.call('HGET', KEYS[2], 'source') or ARGV[9]
local entryID = redis.call('XADD', KEYS[7], '*',
  'kind', 'followup', 'source', source, 'group_id', groupID, 'group_name', groupName,
  'count', count, 'total', total, 'first', first, 'last', last,
  'detected', now, 'threshold', ARGV[7], 'window', ARGV[8],
  'removals', listed, 'omitted', omitted, 'actors', actorsJSON, 'actors_counted', actorsCounted)
redis.call('PEXPIRE', KEYS[7], streamTTL)
return entryID
