-- wrk -s bench/wrk/multipart.lua URL -- BODY_FILE BOUNDARY
-- Every request is a POST of the same prebuilt multipart/form-data body, read once from BODY_FILE
-- (npm run bench writes it: one 100 MiB file, or 1,000 small fields); wrk adds its Content-Length.
function init(args)
  local file = assert(io.open(args[1], "rb"), "multipart.lua: give BODY_FILE BOUNDARY after --")
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. args[2]
end
