-- wrk script for bench/run.sh (gateway throughput and latency).
--
-- Replays one fixed POST request and checks every response:
--   * a response counts as good only if its status is 200 and its body carries
--     a "usage" member (both the chat completion and the Converse answer do);
--   * every other response is counted by status (a 200 without usage is
--     counted as "200-no-usage") and the first one's body is kept as a sample.
-- Optional pacing: BENCH_RATE > 0 (requests/s, all threads together) defines
-- delay(). Each thread hands out send slots at rate/threads per second: a
-- connection that finished a request takes the next free slot and waits until
-- then (wrk's delay() is whole milliseconds: dithered at random, so the slots
-- keep their mean rate). The offered load is therefore the same whatever the
-- server's latency, as long as some connection is free at each slot; a slot
-- missed because none was free is skipped, not made up later. wrk starts a
-- request's latency clock when it writes it, after the delay.
--
-- Input (environment):
--   BENCH_BODY_FILE     request body (sent byte for byte)
--   BENCH_HEADERS_FILE  "Name: value" lines (e.g. a precomputed SigV4 signature)
--   BENCH_PATH          request target, overriding the URL's path
--   BENCH_RATE          offered load, requests/s over all threads (0: as fast as possible)
--   BENCH_THREADS       wrk's -t (to split BENCH_RATE between threads)
--   BENCH_RESULT        file that done() writes one JSON object to
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local period_ms = 0  -- between two send slots of this thread
local next_slot = 0

function init(args)
  wrk.method = "POST"
  local body_file = os.getenv("BENCH_BODY_FILE")
  if body_file and body_file ~= "" then wrk.body = read_file(body_file) end
  local headers_file = os.getenv("BENCH_HEADERS_FILE")
  if headers_file and headers_file ~= "" then
    for line in io.lines(headers_file) do
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if name then wrk.headers[name] = value end
    end
  end
  local path = os.getenv("BENCH_PATH")
  if path and path ~= "" then wrk.path = path end
  local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1") or 1
  if rate > 0 then period_ms = 1000 * nthreads / rate else delay = nil end  -- wrk checks for delay() after init()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  good = 0
  bad = 0
  statuses = {}
  sample = ""
end

function delay()
  local now = now_ms()
  local slot = next_slot
  if slot < now then slot = now end
  next_slot = slot + period_ms
  return math.floor(slot - now + math.random())
end

function response(status, headers, body)
  if status == 200 and body and string.find(body, '"usage"', 1, true) then
    good = good + 1
    return
  end
  bad = bad + 1
  local key = tostring(status)
  if status == 200 then key = "200-no-usage" end
  statuses[key] = (statuses[key] or 0) + 1
  if sample == "" then sample = key .. " " .. string.sub(body or "", 1, 300) end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_good, total_bad, merged, first_sample = 0, 0, {}, ""
  for _, t in ipairs(threads) do
    total_good = total_good + (t:get("good") or 0)
    total_bad = total_bad + (t:get("bad") or 0)
    for k, v in pairs(t:get("statuses") or {}) do merged[k] = (merged[k] or 0) + v end
    local s = t:get("sample") or ""
    if first_sample == "" then first_sample = s end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, json_string(k) .. ":" .. v) end
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"good":%d,"bad":%d,"statuses":{%s},"sample":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"mean":%.1f,"max":%d,"stdev":%.1f},"rate":%.1f}',
    summary.requests, summary.duration, summary.bytes, total_good, total_bad, table.concat(parts, ","),
    json_string(first_sample), e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max, latency.stdev, tonumber(os.getenv("BENCH_RATE") or "0") or 0)
  local path = os.getenv("BENCH_RESULT")
  if path and path ~= "" then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
