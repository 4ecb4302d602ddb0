package redisbroker

import "github.com/redis/go-redis/v9"

// Each script changes one fact and the node's index of its facts in one
// atomic step, and reports whether the fact was the first or last of its
// kind cluster-wide.

// KEYS: set of conns, channel index, node facts. ARGV: conn, channel, fact.
// Returns {count, occupied}.
var addSubscription = redis.NewScript(`
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
local n = redis.call('SCARD', KEYS[1])
if added == 1 and n == 1 then return {n, 1} end
return {n, 0}
`)

// Same keys. Returns {count, vacated}.
var removeSubscription = redis.NewScript(`
local removed = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
local n = redis.call('SCARD', KEYS[1])
if n == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
if removed == 1 and n == 0 then return {n, 1} end
return {n, 0}
`)

// KEYS: the member's conns, the channel's members hash, node facts.
// ARGV: conn, user, fact, info. Returns 1 when the user is new.
var addMember = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
return redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[4])
`)

// Same keys. Returns 1 when it was the user's last connection.
var removeMember = redis.NewScript(`
local removed = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
if removed == 1 and redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
`)

// KEYS: the user's conns, node facts. ARGV: conn, fact. Returns 1 first.
var addUser = redis.NewScript(`
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if added == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0
`)

// Same keys. Returns 1 when it was the user's last connection.
var removeUser = redis.NewScript(`
local removed = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if removed == 1 and redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0
`)
