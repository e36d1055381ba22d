-- fleetgate limits: one atomic admission, settlement or read of one key's limit state.
--
-- The second implementation of fleetgate/limits/core.py, buckets.py and windows.py (the one
-- sanctioned duplication): the same operations in the same order on IEEE doubles, so that a
-- differential property test can require identical decisions and identical stored numbers.
--
-- KEYS[1]  the state hash of one key (fields "<rule id>:level|ts|start|used")
-- KEYS[2]  the live multiplier hash ("<plan>:<window>" -> factor), in the same cluster slot
-- ARGV     op ("admit" | "settle" | "read"), now (epoch seconds), TTL margin (s), the
--          rules (JSON), the op's costs and charges (JSON; decoded by cjson in C, numbers
--          exact), and "full" or "" (see fleetgate/limits/stores/codec.py).
-- Reply    one newline-separated string: now, the rules' stored fields before the op (empty
--          when absent), the multipliers read, then the op's outcome: for "admit" the
--          admitted flag, and with "full" also the decision's details and the fields written;
--          for "settle" with "full" the fields written and the adjustments. The client
--          explains a decision (statuses, retry-after, charges) with the Python core from the
--          numbers this script read; "full" lets tests compare the script's own figures.
--          Numbers are written with "%.17g" (exact).

local INF, HOUR, DAY = 1 / 0, 3600.0, 86400.0
local state_key, multiplier_key, op = KEYS[1], KEYS[2], ARGV[1]

local formatted = {}
local function fmt(x)
  if x ~= x then return 'nan' end
  local text = formatted[x]
  if text == nil then
    text = string.format('%.17g', x)
    formatted[x] = text
  end
  return text
end

local function flag(b)
  return b and '1' or '0'
end

-- append four values to a list (fields and values of two updates, or one charge)
local function push(list, a, b, c, d)
  local n = #list
  list[n + 1], list[n + 2], list[n + 3], list[n + 4] = a, b, c, d
end

-- ------------------------------------------------------------------ time

local now = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local full = ARGV[6] == 'full'

-- ------------------------------------------------------------------ rules
-- one rule: [field a, field b, kind, dimension 1..4, capacity, rate, period, phase,
--            floor to hour, overage, shadow, peak factor, [span start, end, ...], [names]]
local rules = {}
for r, row in ipairs(cjson.decode(ARGV[4])) do
  local rule = {
    a = row[1], b = row[2], kind = row[3], dim = row[4], capacity = row[5], rate = row[6],
    period = row[7], phase = row[8], floor = row[9], overage = row[10], shadow = row[11],
    peak = row[12], spans = {}, mkeys = row[14],
  }
  local flat = row[13]
  for s = 1, #flat, 2 do rule.spans[#rule.spans + 1] = {flat[s], flat[s + 1]} end
  rules[r] = rule
end
-- [[requests, input, output, units], [[rule index from 0, amount, factor, start], ...]]
local tail = cjson.decode(ARGV[5])

-- ------------------------------------------------------------------ stored numbers

local out = {fmt(now)}
local state = {}
if #rules > 0 then
  local fields = {}
  for _, rule in ipairs(rules) do
    fields[#fields + 1] = rule.a
    fields[#fields + 1] = rule.b
  end
  local raw = redis.call('HMGET', state_key, unpack(fields))
  for k = 1, #fields do
    out[#out + 1] = raw[k] or ''
    if raw[k] then state[fields[k]] = tonumber(raw[k]) end
  end
end

local mults = {}
local mult_names, seen = {}, {}
for _, rule in ipairs(rules) do
  for _, name in ipairs(rule.mkeys) do
    if not seen[name] then seen[name], mult_names[#mult_names + 1] = true, name end
  end
end
if #mult_names > 0 then
  local raw = redis.call('HMGET', multiplier_key, unpack(mult_names))
  for k = 1, #mult_names do
    out[#out + 1] = raw[k] or ''
    if raw[k] then mults[mult_names[k]] = tonumber(raw[k]) end
  end
end

-- ------------------------------------------------------------------ windows.py

local function days_from_civil(year, month, day)
  if month <= 2 then year = year - 1 end
  local era
  if year >= 0 then era = math.floor(year / 400) else era = math.floor((year - 399) / 400) end
  local yoe = year - era * 400
  local shift = 9
  if month > 2 then shift = -3 end
  local doy = math.floor((153 * (month + shift) + 2) / 5) + day - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(days)
  days = days + 719468
  local era
  if days >= 0 then era = math.floor(days / 146097)
  else era = math.floor((days - 146096) / 146097) end
  local doe = days - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local month = mp - 9
  if mp < 10 then month = mp + 3 end
  local year = yoe + era * 400
  if month <= 2 then year = year + 1 end
  return year, month
end

local function month_bounds(t)
  local year, month = civil_from_days(math.floor(t / DAY))
  local start = days_from_civil(year, month, 1) * DAY
  if month == 12 then return start, days_from_civil(year + 1, 1, 1) * DAY end
  return start, days_from_civil(year, month + 1, 1) * DAY
end

-- ------------------------------------------------------------------ core.py

local function multiplier_of(rule)
  local factor = 1.0
  for _, name in ipairs(rule.mkeys) do
    local m = mults[name]
    if m then factor = factor * m end
  end
  return factor
end

local function peak_factor_at(rule)
  for _, span in ipairs(rule.spans) do
    if span[1] <= now and now < span[2] then return rule.peak end
  end
  return 1.0
end

local function bucket_level(rule)
  local stored = state[rule.a]
  if stored == nil then return rule.capacity end
  local ts = state[rule.b]
  if ts == nil then ts = now end
  if now <= ts then return stored end
  return math.min(rule.capacity, stored + (now - ts) * rule.rate)
end

local function bucket_view(rule, cost)
  local capacity = rule.capacity
  local level = bucket_level(rule)
  local want = 1.0
  if cost > 1.0 then want = cost end
  local view = {capacity = capacity, used = capacity - level, start = now, fits = true, wait = 0.0}
  if level >= want then return view end
  view.fits = false
  if want > capacity or rule.rate <= 0 then view.wait = INF
  else view.wait = (want - level) / rule.rate end
  return view
end

-- (start, end, running) of the window a request at `now` belongs to (starting one if needed)
local function window_span(rule)
  if rule.kind == 'session' then
    local stored = state[rule.a]
    local running = stored ~= nil and stored <= now and now < stored + rule.period
    local start = now
    if running then start = stored
    elseif rule.floor then start = math.floor(now / HOUR) * HOUR end
    return start, start + rule.period, running
  end
  if rule.kind == 'fixed' then
    local start = rule.phase + math.floor((now - rule.phase) / rule.period) * rule.period
    return start, start + rule.period, state[rule.a] == start
  end
  local start, stop = month_bounds(now)
  return start, stop, state[rule.a] == start
end

local function window_view(rule, cost)
  local capacity = rule.capacity * multiplier_of(rule)
  local start, stop, running = window_span(rule)
  local used = 0.0
  if running then used = state[rule.b] or 0.0 end
  local view = {capacity = capacity, used = used, start = start, fits = true, wait = 0.0}
  if used < capacity and used + cost <= capacity then return view end
  view.fits = false
  if cost > capacity then view.wait = INF else view.wait = math.max(0.0, stop - now) end
  return view
end

local function state_ttl()
  local longest = 0.0
  for _, rule in ipairs(rules) do
    if rule.kind == 'bucket' then
      if state[rule.a] ~= nil and rule.rate > 0 then
        longest = math.max(longest, (rule.capacity - bucket_level(rule)) / rule.rate)
      end
    elseif state[rule.a] ~= nil then
      local stop
      if rule.kind == 'month' then
        local _
        _, stop = month_bounds(state[rule.a])
      else
        stop = state[rule.a] + rule.period
      end
      longest = math.max(longest, stop - now)
    end
  end
  return longest
end

-- write `updates` (a flat field, value list); keep the key alive while its state matters (when
-- it would expire too soon, extend it by the margin too, so that busy keys rarely need PEXPIRE)
local function write(updates)
  if full then out[#out + 1] = tostring(#updates / 2) end
  if #updates == 0 then return end
  local args = {}
  for k = 1, #updates, 2 do
    local text = fmt(updates[k + 1])
    args[#args + 1] = updates[k]
    args[#args + 1] = text
    if full then
      local n = #out
      out[n + 1], out[n + 2] = updates[k], text
    end
    state[updates[k]] = updates[k + 1]
  end
  redis.call('HSET', state_key, unpack(args))
  local needed = state_ttl()
  if redis.call('PTTL', state_key) < math.ceil(needed * 1000) then
    redis.call('PEXPIRE', state_key, math.ceil((needed + margin) * 1000))
  end
end

local function evaluate(costs)
  local amounts, factors, views, blocking, shadow_refused = {}, {}, {}, {}, {}
  for i, rule in ipairs(rules) do
    local factor = 1.0
    if #rule.spans > 0 then factor = peak_factor_at(rule) end
    local amount = costs[rule.dim] * factor
    local view
    if rule.kind == 'bucket' then view = bucket_view(rule, amount)
    else view = window_view(rule, amount) end
    if not view.fits then
      if rule.shadow then shadow_refused[#shadow_refused + 1] = i
      elseif not rule.overage then blocking[#blocking + 1] = i end
    end
    amounts[i], factors[i], views[i] = amount, factor, view
  end
  return amounts, factors, views, blocking, shadow_refused
end

-- indexes to charge and whether on extra usage; none means refused
local function choose_charged(views, blocking)
  local charged = {}
  if #blocking == 0 then
    for i, rule in ipairs(rules) do
      if not rule.overage and views[i].fits then charged[#charged + 1] = i end
    end
    return charged, false
  end
  local windows_only = true
  for _, i in ipairs(blocking) do
    if rules[i].kind == 'bucket' then windows_only = false end
  end
  local all_fit = true
  for i, rule in ipairs(rules) do
    if rule.overage then
      charged[#charged + 1] = i
      if not views[i].fits then all_fit = false end
    end
  end
  if #charged == 0 or not windows_only or not all_fit then return {}, false end
  for i, rule in ipairs(rules) do
    if rule.kind == 'bucket' and not rule.overage and views[i].fits then
      charged[#charged + 1] = i
    end
  end
  return charged, true
end

local function retry_after(views, blocking)
  local wait = 0.0
  local windows_only = true
  for _, i in ipairs(blocking) do
    wait = math.max(wait, views[i].wait)
    if rules[i].kind == 'bucket' then windows_only = false end
  end
  if windows_only then
    for i, rule in ipairs(rules) do
      if rule.overage then wait = math.min(wait, views[i].wait) end
    end
  end
  return wait
end

local function put_indexes(list)
  out[#out + 1] = tostring(#list)
  for _, i in ipairs(list) do out[#out + 1] = tostring(i - 1) end
end

local function admit(costs)
  local amounts, factors, views, blocking, shadow_refused = evaluate(costs)
  local charged, on_overage = choose_charged(views, blocking)
  local admitted = #blocking == 0 or on_overage
  if not admitted then charged = {} end
  out[#out + 1] = flag(admitted)
  if full then
    local wait = 0.0
    if not admitted then wait = retry_after(views, blocking) end
    out[#out + 1] = flag(on_overage)
    out[#out + 1] = fmt(wait)
    put_indexes(blocking)
    put_indexes(shadow_refused)
    out[#out + 1] = tostring(#charged)
  end
  local updates = {}
  for _, i in ipairs(charged) do
    local rule, view, amount = rules[i], views[i], amounts[i]
    local start = 0.0
    if rule.kind == 'bucket' then
      push(updates, rule.a, view.capacity - view.used - amount, rule.b, now)
    else
      start = view.start
      push(updates, rule.a, view.start, rule.b, view.used + amount)
    end
    if full then push(out, tostring(i - 1), fmt(amount), fmt(factors[i]), fmt(start)) end
  end
  write(updates)
end

local function settle(actual)
  local updates, adjustments = {}, {}
  local charges = tail[2]
  local ncharges = #charges
  for c = 1, ncharges do
    local charge = charges[c]
    local rule = rules[charge[1] + 1]
    local amount, factor, period_start = charge[2], charge[3], charge[4]
    local delta = actual[rule.dim] * factor - amount
    if rule.kind == 'bucket' then
      local before = bucket_view(rule, 0.0)
      local level = bucket_level(rule)
      if delta ~= 0 then level = math.min(rule.capacity, level + -delta) end
      local ts = state[rule.b]
      if ts == nil then ts = now end
      push(updates, rule.a, level, rule.b, math.max(now, ts))
      adjustments[c] = (rule.capacity - before.used) - level
    else
      local start, _, running = window_span(rule)
      local used = 0.0
      if running then used = state[rule.b] or 0.0 end
      local change = math.max(0.0, delta)
      if running and start == period_start then change = delta end
      local new_used = math.max(0.0, used + change)
      if new_used ~= used then push(updates, rule.a, start, rule.b, new_used) end
      adjustments[c] = new_used - used
    end
  end
  write(updates)
  if full then
    for c = 1, ncharges do out[#out + 1] = fmt(adjustments[c]) end
  end
end

if op == 'admit' then
  admit(tail[1])
elseif op == 'settle' then
  settle(tail[1])
elseif op ~= 'read' then
  return redis.error_reply('fleetgate limits: unknown operation ' .. tostring(op))
end
return table.concat(out, '\n')
