-- wrk script: POST one valid comment form per request (bench/run.py prepares it).
-- Arguments (after `--`): PATH BODY COOKIE MODE SALT
--   MODE "distinct": every request names a new client address in X-Forwarded-For (the
--   instances trust loopback as a proxy, so each request counts as another reader);
--   MODE "single": every request comes from the one loopback address (the per-IP limit).
--   SALT (0-63) changes the addresses from one run to the next (a limit counts a minute).
-- done() prints "statuses 2xx=N 3xx=N 4xx=N 429=N 5xx=N" for the harness.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("number", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  path, body, cookie, mode = args[1], args[2], args[3], args[4]
  salt = tonumber(args[5] or "0")
  sent = 0
  s2, s3, s4, s429, s5 = 0, 0, 0, 0, 0
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }
end

function request()
  sent = sent + 1
  if mode == "distinct" then
    headers["X-Forwarded-For"] = string.format(
      "10.%d.%d.%d", (salt * 4 + number) % 256, math.floor(sent / 256) % 256, sent % 256)
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, response_headers, response_body)
  if status == 429 then
    s429 = s429 + 1
  elseif status >= 500 then
    s5 = s5 + 1
  elseif status >= 400 then
    s4 = s4 + 1
  elseif status >= 300 then
    s3 = s3 + 1
  else
    s2 = s2 + 1
  end
end

function done(summary, latency, requests)
  local totals = {0, 0, 0, 0, 0}
  for _, thread in ipairs(threads) do
    totals[1] = totals[1] + thread:get("s2")
    totals[2] = totals[2] + thread:get("s3")
    totals[3] = totals[3] + thread:get("s4")
    totals[4] = totals[4] + thread:get("s429")
    totals[5] = totals[5] + thread:get("s5")
  end
  io.write(string.format("statuses 2xx=%d 3xx=%d 4xx=%d 429=%d 5xx=%d\n",
    totals[1], totals[2], totals[3], totals[4], totals[5]))
end
