-- load.lua drives wrk for bench/run: every request is the same POST, its
-- body read from a file and its Upstash-Signature from another, minted
-- beforehand for that body with a long lifetime. The same token goes out
-- again and again, which is fine: the server keeps no replay store.
--
-- Arguments after "--": the body file, the signature file.

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function init(args)
  wrk.method = "POST"
  wrk.body = slurp(args[1])
  wrk.headers["Content-Type"] = "application/octet-stream"
  -- The signature file ends with the newline the signing command printed.
  wrk.headers["Upstash-Signature"] = (slurp(args[2]):gsub("%s+$", ""))
end

-- done prints the one line bench/run reads: requests, their rate, latency
-- percentiles in microseconds, and every error wrk counts, a status of 400
-- or more among them (a refused signature would show here).
function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
