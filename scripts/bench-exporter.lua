-- wrk script for scripts/bench-exporter.sh: every thread stops after its share of
-- REQUESTS responses; the status codes are tallied and printed by done().
local per_thread = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local total = tonumber(os.getenv("REQUESTS") or "1000")
  local nthreads = tonumber(os.getenv("THREADS") or "2")
  per_thread = math.floor(total / nthreads)
  if id == 1 then per_thread = per_thread + (total % nthreads) end
  seen = 0
  codes = {}
  wrk.path = os.getenv("PROBE_PATH")
end

function response(status, headers, body)
  seen = seen + 1
  codes[status] = (codes[status] or 0) + 1
  if seen >= per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local all = {}
  local answered = 0
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for status, n in pairs(c) do
      all[status] = (all[status] or 0) + n
      answered = answered + n
    end
  end
  for status, n in pairs(all) do
    io.write(string.format("status %d: %d\n", status, n))
  end
  io.write(string.format("answered: %d\n", answered))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("latency p50 %.1f ms, p99 %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
