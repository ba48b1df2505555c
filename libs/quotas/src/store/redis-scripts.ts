/**
 * Lua scripts run atomically by Redis. Counters are plain integer keys; concurrency slots are
 * sorted sets (member = request id, score = lease deadline in ms).
 */

/**
 * KEYS: counter keys..., slot keys...
 * ARGV: nCounters, nSlots, now, then per counter: limit (-1 = none), amount, ttlMs, seeded (0|1),
 *       then per slot: limit, member, leaseMs.
 * Returns {1, value...} on success, {0, index, current} when a limit would be exceeded,
 * {-1, index} when a seeded counter is missing.
 */
export const RESERVE_SCRIPT = `
local nc = tonumber(ARGV[1])
local ns = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local values = {}
for i = 1, nc do
  local base = 3 + (i - 1) * 4
  local limit = tonumber(ARGV[base + 1])
  local amount = tonumber(ARGV[base + 2])
  local seeded = ARGV[base + 4]
  local cur = redis.call('GET', KEYS[i])
  if not cur then
    if seeded == '1' then return {-1, i - 1} end
    cur = 0
  else
    cur = tonumber(cur)
  end
  if limit >= 0 and cur + amount > limit then return {0, i - 1, cur} end
  values[i] = cur + amount
end
local sbase = 3 + nc * 4
for j = 1, ns do
  local key = KEYS[nc + j]
  local limit = tonumber(ARGV[sbase + (j - 1) * 3 + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local n = redis.call('ZCARD', key)
  if n >= limit then return {0, nc + j - 1, n} end
end
for i = 1, nc do
  local base = 3 + (i - 1) * 4
  redis.call('INCRBY', KEYS[i], ARGV[base + 2])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[base + 3]) end
end
for j = 1, ns do
  local key = KEYS[nc + j]
  local lease = tonumber(ARGV[sbase + (j - 1) * 3 + 3])
  redis.call('ZADD', key, now + lease, ARGV[sbase + (j - 1) * 3 + 2])
  if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
end
local out = {1}
for i = 1, nc do out[i + 1] = values[i] end
return out
`;

/** KEYS: counter keys..., slot keys...; ARGV: nCounters, deltas..., members... */
export const SETTLE_SCRIPT = `
local nc = tonumber(ARGV[1])
for i = 1, nc do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCRBY', KEYS[i], ARGV[1 + i]) end
end
for j = nc + 1, #KEYS do
  redis.call('ZREM', KEYS[j], ARGV[1 + j])
end
return 1
`;

/** KEYS[1]; ARGV: windowMs. Fixed window: {count, pttl}. */
export const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`;
