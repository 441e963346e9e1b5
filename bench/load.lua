-- wrk script for bench/load.py: a fixed mix of searches and source pages, counting every failure.
-- Paths come from the file named by KG_LOAD_PATHS (one path a line); each thread walks the list
-- from its own offset, so the mix is the same in every run.

paths = {}
counter = 0
-- globals, not locals: done() reads each thread's count with thread:get
failed = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("KG_LOAD_PATHS")) do
    table.insert(paths, line)
  end
  counter = id * 7
end

-- Source pages are asked for as a browser asks (HTML); searches as the API (JSON).
local html = { ["Accept"] = "text/html" }

function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  if string.sub(path, 1, 8) == "/source/" then
    return wrk.format("GET", path, html)
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("failed")
  end
  io.write(string.format("KG non-200 responses: %d\n", total))
  io.write(string.format("KG latency p50/p95/p99 ms: %.2f %.2f %.2f\n", latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
