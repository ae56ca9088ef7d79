-- wrk script for bench/storefront.sh: one JSON line with throughput, latency percentiles (ms), errors and how
-- many answers carried X-Cache: hit / miss (the catalog page cache; absent when it is off).
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

hits, misses = 0, 0

function response(status, headers, body)
   local cached = headers["X-Cache"]
   if cached == "hit" then hits = hits + 1 elseif cached == "miss" then misses = misses + 1 end
end

done = function(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                  + summary.errors.status + summary.errors.timeout
   local h, m = 0, 0
   for _, thread in ipairs(threads) do
      h = h + thread:get("hits")
      m = m + thread:get("misses")
   end
   io.write(string.format(
      '{"requests": %d, "rps": %.1f, "p50": %.2f, "p95": %.2f, "p99": %.2f, "max": %.2f, "errors": %d, "non2xx": %d, '
      .. '"hits": %d, "misses": %d}\n',
      summary.requests, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000, errors, summary.errors.status, h, m))
end
