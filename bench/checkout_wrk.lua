-- wrk script for bench/checkout_bench.py: posts pre-encrypted, pre-signed checkout bodies.
-- Arguments: a file with one request per line, "<X-Hub-Signature-256>\t<JSON body>", and a
-- starting position (each run starts elsewhere, so a run does not replay the warm-up's changes).
local signatures, bodies, count, index = {}, {}, 0, 0
local thread_number = 0

function setup(thread)
  thread_number = thread_number + 1
  thread:set("offset", thread_number * 7919)
end

function init(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    count = count + 1
    signatures[count] = line:sub(1, tab - 1)
    bodies[count] = line:sub(tab + 1)
  end
  index = ((offset or 0) + tonumber(args[2] or "0")) % count
end

function request()
  index = index % count + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = signatures[index],
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
