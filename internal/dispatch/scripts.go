package dispatch

import "github.com/redis/go-redis/v9"

// heartbeatScript renews this consumer's claim on the entries it still owns,
// resetting their idle time so no other replica takes them over, and returns
// the ids it no longer owns. Checking the owner first keeps a slow replica
// from taking an entry back after another replica claimed it.
//
// KEYS: 1 stream. ARGV: 1 group, 2 consumer, 3.. entry ids.
var heartbeatScript = redis.NewScript(`
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
`)

// finishScript acknowledges and deletes a delivered entry, optionally
// copying it to the dead-letter stream first, and deletes the stream once it
// is empty so an idle shard leaves no key behind. The detector's scripts
// create the stream and its group again on the next alert.
//
// KEYS: 1 stream, 2 dead-letter stream.
// ARGV: 1 group, 2 entry id, 3 dead-letter ttl ms (0: no dead letter),
// 4.. field/value pairs for the dead-letter entry.
var finishScript = redis.NewScript(`
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  local fields = {}
  for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('XADD', KEYS[2], '*', unpack(fields))
  redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('XLEN', KEYS[1]) == 0 then
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
  if tonumber(pending[1]) == 0 then
    redis.call('DEL', KEYS[1])
  end
end
return 1
`)
