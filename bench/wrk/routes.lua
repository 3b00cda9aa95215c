-- wrk -s bench/wrk/routes.lua URL -- 'GET /user' 'DELETE /gist/abc123' ...
-- Each connection sends the requests given after `--` in turn (npm run bench passes the mix of
-- bench/github-routes.mjs: static, parameterised, deep, one miss). They are formatted once, in init.
local requests = {}
local n = 0

function init(args)
  for _, spec in ipairs(args) do
    local method, path = spec:match("^(%u+) (/%S*)$")
    if not method then error("routes.lua: not 'METHOD /path': " .. spec) end
    requests[#requests + 1] = wrk.format(method, path)
  end
  if #requests == 0 then error("routes.lua: give the requests after --, e.g. -- 'GET /user'") end
end

function request()
  n = n % #requests + 1
  return requests[n]
end
