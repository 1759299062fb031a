-- Password sign-in cycled over seeded accounts. mode=gotrue: POST /token with a form body
-- (grant_type=password&username&password); mode=peer: better-auth's POST /api/auth/sign-in/email (JSON).
-- Args: file=PATH (lines "email<TAB>password") mode=gotrue|peer
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*)/") .. "/common.lua")

local reqs, i

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function init(args)
  local a = parse_args(args)
  reqs = {}
  for _, line in ipairs(read_lines(a.file)) do
    local email, password = line:match("^([^\t]+)\t(.+)$")
    if a.mode == "peer" then
      table.insert(reqs, wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
        '{"email":"' .. email .. '","password":"' .. password .. '"}'))
    else
      table.insert(reqs, wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded" },
        "grant_type=password&username=" .. urlencode(email) .. "&password=" .. urlencode(password)))
    end
  end
  i = (id * 7) % #reqs
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function response(status)
  count_status(status)
end
