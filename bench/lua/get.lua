-- GET with a credential header cycled over a file of values: `Authorization: Bearer <jwt>` for GET /user,
-- `Cookie: <session cookie>` for better-auth's get-session.
-- Args: file=PATH header=NAME threads=N (each thread starts at its own offset in the list).
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*)/") .. "/common.lua")

local reqs, i

function init(args)
  local a = parse_args(args)
  reqs = {}
  for _, value in ipairs(read_lines(a.file)) do
    table.insert(reqs, wrk.format("GET", nil, { [a.header] = value }))
  end
  i = (id * 7) % #reqs
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
