-- POST /token grant_type=refresh_token where every refresh token is used exactly once: each thread keeps a FIFO
-- queue of tokens (its share of the seed file); request() pops one, response() pushes the successor parsed from
-- the body. A connection holds at most one token in flight, so the queue never runs dry while it starts with
-- more tokens than the thread has connections. At the end the tokens still queued are written back to the file
-- (those in flight when wrk stopped are lost; the harness tops the file up before the next run).
-- Args: file=PATH threads=N
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*)/") .. "/common.lua")

local path = wrk.path
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
q, qh, qt = {}, 1, 1   -- globals so collect() can read them through thread:get
starved, unparsed = 0, 0

function init(args)
  local a = parse_args(args)
  local n = tonumber(a.threads)
  for k, tok in ipairs(read_lines(a.file)) do
    if (k - 1) % n == id then q[qt] = tok; qt = qt + 1 end
  end
  file = a.file
end

function request()
  local tok = q[qh]
  if tok == nil then
    starved = starved + 1
    tok = "starved"
  else
    q[qh] = nil
    qh = qh + 1
  end
  return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. tok)
end

function response(status, hdrs, body)
  count_status(status)
  if status == 200 then
    local nxt = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if nxt then q[qt] = nxt; qt = qt + 1 else unparsed = unparsed + 1 end
  end
end

function collect(threads)
  local left, out, st, up = 0, {}, 0, 0
  local out_path
  for _, th in ipairs(threads) do
    local tq, h, t = th:get("q"), th:get("qh"), th:get("qt")
    for k = h, t - 1 do
      if tq[k] then table.insert(out, tq[k]); left = left + 1 end
    end
    st = st + th:get("starved")
    up = up + th:get("unparsed")
    out_path = out_path or th:get("file")
  end
  local f = assert(io.open(out_path, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
  return { tokens_left = left, starved = st, unparsed = up }
end
