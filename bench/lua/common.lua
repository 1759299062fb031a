-- Shared by every bench script (loaded with dofile from the script's own directory).
-- setup() numbers the threads; done() prints one JSON line the harness parses:
--   BENCH_JSON {"requests":..,"duration_us":..,"rps":..,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..,
--               "errors":{"connect":..,"read":..,"write":..,"timeout":..,"status":..},"statuses":{"401":3},"extra":{..}}
-- A script may define `collect(threads)` returning a table merged into "extra" (and do side work, like saving
-- the refresh tokens still queued).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Status counts kept by scripts that define response(): statuses[code] = n (a per-thread global).
statuses = {}
function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

-- Arguments after `--`: key=value pairs.
function parse_args(args)
  local out = {}
  for _, a in ipairs(args or {}) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k then out[k] = v end
  end
  return out
end

function read_lines(path)
  local lines = {}
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then table.insert(lines, line) end
  end
  f:close()
  return lines
end

local function json_str(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local function json(v)
  local t = type(v)
  if t == "table" then
    local parts = {}
    for k, x in pairs(v) do table.insert(parts, json_str(k) .. ":" .. json(x)) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "number" then
    return string.format("%.17g", v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "nil" then
    return "null"
  end
  return json_str(v)
end

function done(summary, latency, requests)
  local merged = {}
  for _, th in ipairs(threads) do
    local s = th:get("statuses")
    if type(s) == "table" then
      for code, n in pairs(s) do merged[tostring(code)] = (merged[tostring(code)] or 0) + n end
    end
  end
  local extra = {}
  if type(collect) == "function" then extra = collect(threads) or {} end
  local e = summary.errors
  local out = {
    requests = summary.requests,
    duration_us = summary.duration,
    rps = summary.requests / (summary.duration / 1e6),
    p50_us = latency:percentile(50),
    p90_us = latency:percentile(90),
    p99_us = latency:percentile(99),
    max_us = latency.max,
    errors = { connect = e.connect, read = e.read, write = e.write, timeout = e.timeout, status = e.status },
    statuses = merged,
    extra = extra,
  }
  io.write("BENCH_JSON " .. json(out) .. "\n")
end
