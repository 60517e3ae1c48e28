-- wrk script for bench/bench_pages.py: one request (method, cookie, body from the arguments after --),
-- every response's status checked against the expected one; the counts are printed at the end.
--   wrk ... -s bench/wrk_request.lua URL -- EXPECTED_STATUS METHOD COOKIE BODY
-- The same script runs for every URL (the plain route too), so its cost is the same on both sides.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = tonumber(args[1]) or 200
  local method = args[2] or "GET"
  local headers = {["Accept-Language"] = "en"}
  if args[3] and args[3] ~= "" then headers["Cookie"] = args[3] end
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = args[4] or ""
  end
  req = wrk.format(method, nil, headers, body)
  good, bad, seen = 0, 0, {}
end

function request()
  return req
end

function response(status, headers, body)
  if status == expected then good = good + 1 else bad = bad + 1 end
  seen[status] = (seen[status] or 0) + 1
end

function done(summary, latency, requests)
  local g, b, all = 0, 0, {}
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    for code, n in pairs(t:get("seen")) do all[code] = (all[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(all) do table.insert(parts, code .. ":" .. n) end
  io.write(string.format("STATUS good=%d bad=%d statuses=%s\n", g, b, table.concat(parts, ",")))
end
