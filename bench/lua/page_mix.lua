-- wrk script: the page mix, one path after another, until LIMIT responses (0: no limit,
-- wrk's -d ends the run). Arguments (after `--`): THREADS LIMIT MARKER COOKIE PATH...
-- A path written "!/admin" is requested signed in (with COOKIE), "/" anonymously.
-- wrk waits for -d even when every thread has stopped: each thread that has its share
-- creates the file MARKER.<n>, and bench/wrk.py interrupts wrk once all of them exist.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("number", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local threads = tonumber(args[1])
  local limit = tonumber(args[2])
  quota = limit > 0 and math.ceil(limit / threads) or 0
  marker = args[3]
  cookie = args[4]
  prepared = {}
  for i = 5, #args do
    local path = args[i]
    if string.sub(path, 1, 1) == "!" then
      table.insert(prepared, wrk.format("GET", string.sub(path, 2), {["Cookie"] = cookie}))
    else
      table.insert(prepared, wrk.format("GET", path))
    end
  end
  position = 0
  answered = 0
  s2, s3, s4, s5 = 0, 0, 0, 0
end

function request()
  position = position % #prepared + 1
  return prepared[position]
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 500 then
    s5 = s5 + 1
  elseif status >= 400 then
    s4 = s4 + 1
  elseif status >= 300 then
    s3 = s3 + 1
  else
    s2 = s2 + 1
  end
  if quota > 0 and answered == quota then
    local file = io.open(marker .. "." .. number, "w")
    file:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local totals = {0, 0, 0, 0}
  for _, thread in ipairs(threads) do
    totals[1] = totals[1] + thread:get("s2")
    totals[2] = totals[2] + thread:get("s3")
    totals[3] = totals[3] + thread:get("s4")
    totals[4] = totals[4] + thread:get("s5")
  end
  io.write(string.format("statuses 2xx=%d 3xx=%d 4xx=%d 5xx=%d\n",
    totals[1], totals[2], totals[3], totals[4]))
end
