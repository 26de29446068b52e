-- wrk script for bench/api_bench.py: posts order bodies (one JSON body a line, each a new
-- reference_id) to POST /api/v1/orders/, each once while the file lasts, with the API key.
-- Arguments: the bodies file and the Authorization header's value.
local bodies, count, index, auth = {}, 0, 0, ""

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    bodies[count] = line
  end
  auth = args[2]
end

function request()
  index = index % count + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
  }, bodies[index])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
