-- wrk script: POST a distinct call.ended webhook per request (unique call ids per thread), and print a
-- JSON summary at the end. TOKEN comes from the environment via wrk's os.getenv.
local token = os.getenv("AJ_BENCH_TOKEN")
local threads = {}
local counter = 0
local prefix = 0

function setup(thread)
  thread:set("prefix", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = tonumber(wrk.thread:get("prefix")) or 1
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local template = '{"resource":"call","event":"call.ended","timestamp":1732622990,"token":"%s",' ..
  '"data":{"id":%d,"direction":"inbound","status":"done","started_at":1732622895,"answered_at":1732622901,' ..
  '"ended_at":1732622960,"duration":65,"raw_digits":"+1 415-555-0100","recording":"https://example.test/r.mp3",' ..
  '"user":{"id":456,"name":"Madelaine Dupont","email":"madelaine@acme.com"},' ..
  '"number":{"id":789,"name":"Support line","digits":"+1 415-555-0199","country":"US"},' ..
  '"comments":[],"tags":[],"participants":[{"type":"external","phone_number":"+1 415-555-0100"}]}}'

function request()
  counter = counter + 1
  local call_id = prefix * 100000000 + counter
  return wrk.format(nil, nil, nil, string.format(template, token, call_id))
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors_status":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
