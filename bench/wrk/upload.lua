-- wrk -s bench/wrk/upload.lua: every request is a POST of 1 MiB (application/octet-stream).
wrk.method = "POST"
wrk.body = string.rep("x", 1024 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
