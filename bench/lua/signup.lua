-- Sign-up with a unique email per request: bench-<run>-<thread>-<counter>@example.com.
-- mode=gotrue: POST /signup {email, password}; mode=peer: better-auth's POST /api/auth/sign-up/email
-- {email, password, name}. Args: run=ID mode=gotrue|peer password=PW
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*)/") .. "/common.lua")

local run, mode, password
local n = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local a = parse_args(args)
  run, mode, password = a.run, a.mode, a.password
end

function request()
  n = n + 1
  local email = "bench-" .. run .. "-" .. id .. "-" .. n .. "@example.com"
  local body
  if mode == "peer" then
    body = '{"email":"' .. email .. '","password":"' .. password .. '","name":"bench"}'
  else
    body = '{"email":"' .. email .. '","password":"' .. password .. '"}'
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status)
  count_status(status)
end
