-- wrk script for bench/api_load.py: single-message POST /v1/classify requests.
-- FLAGGER_WRK_BODIES names a file of JSON request bodies, one per line; FLAGGER_WRK_KEY is the
-- API key. Each connection cycles through the bodies; done() prints one JSON line of results.
local bodies = os.getenv("FLAGGER_WRK_BODIES")
local key = os.getenv("FLAGGER_WRK_KEY")
local prepared = {}
local count = 0
local position = 0

function init(args)
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  for line in io.lines(bodies) do
    count = count + 1
    prepared[count] = wrk.format("POST", "/v1/classify", headers, line)
  end
end

function request()
  position = position % count + 1
  return prepared[position]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, ' ..
    '"max_ms": %.1f, "mean_ms": %.1f}\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
