-- wrk script for bench/serve_http.sh: POSTs single-row /v1/predict bodies read from a file (one JSON body a line),
-- each thread starting at a different offset, and prints machine-readable totals when the run is done.
local bodies = {}
local idx = 0
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  f:close()
  assert(#bodies > 0, "no request bodies in " .. args[1])
  idx = ((id or 0) * 7919) % #bodies
end

function request()
  idx = idx % #bodies + 1
  return wrk.format("POST", "/v1/predict", { ["Content-Type"] = "application/json" }, bodies[idx])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk_requests %d\n", summary.requests))
  io.write(string.format("wrk_duration_us %d\n", summary.duration))
  io.write(string.format("wrk_p99_us %.1f\n", latency:percentile(99)))
  io.write(string.format("wrk_socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("wrk_status_errors %d\n", e.status))
end
