-- A light, paced GET (a responsiveness probe, not a load): like get.lua, but each connection waits `pause` ms
-- between requests (wrk's delay()), so e.g. 4 connections × 5 ms ≈ 800 req/s whatever the server's speed.
-- Args: file=PATH header=NAME pause=MS
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*)/") .. "/common.lua")

local reqs, i, pause

function init(args)
  local a = parse_args(args)
  reqs = {}
  for _, value in ipairs(read_lines(a.file)) do
    table.insert(reqs, wrk.format("GET", nil, { [a.header] = value }))
  end
  i = (id * 7) % #reqs
  pause = tonumber(a.pause or "5")
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function delay()
  return pause
end
