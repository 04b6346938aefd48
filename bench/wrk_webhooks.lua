-- wrk script: POST a distinct call.ended webhook per request (unique call ids per thread), and print a
-- JSON summary at the end. The body (bench/ingest.py call_ended_body: about 2 KB, as Aircall sends them)
-- and the token come from the environment via wrk's os.getenv; __TOKEN__ and __CALL_ID__ are filled in.
local token = os.getenv("AJ_BENCH_TOKEN")
local template = os.getenv("AJ_BENCH_BODY")
local threads = {}
local counter = 0
local prefix = 0
local head, tail

function setup(thread)
  thread:set("prefix", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = tonumber(wrk.thread:get("prefix")) or 1
  local body = template:gsub("__TOKEN__", token)
  local i, j = body:find("__CALL_ID__", 1, true)
  head, tail = body:sub(1, i - 1), body:sub(j + 1)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local call_id = prefix * 100000000 + counter
  return wrk.format(nil, nil, nil, head .. call_id .. tail)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors_status":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
