-- wrk script: durable writes, POST /api/v1/recommendations/{id}/events with an `update`.
--
--   wrk -t2 -c16 -d10s -H "Authorization: Bearer $TOKEN" -s bench/post_event.lua \
--       http://127.0.0.1:PORT -- IDS_FILE
--
-- IDS_FILE holds recommendation ids, one a line, all owned by the token's body and in a state
-- that allows `update` (bench/run.sh takes them from the open list it fetched). Requests go
-- round-robin over the ids, each wrk thread starting at a different place, so consecutive writes
-- rarely touch the same recommendation. The Authorization header given with -H is kept: the
-- requests are built from wrk.headers.

wrk.method = "POST"
wrk.body = '{"do":"update","note":"bench"}'
wrk.headers["Content-Type"] = "application/json"

local ids = {}
local next_index = 1
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  local path = args[1]
  if path == nil then
    error("post_event.lua: give the ids file after --")
  end
  for line in io.lines(path) do
    if line ~= "" then
      ids[#ids + 1] = line
    end
  end
  if #ids == 0 then
    error("post_event.lua: no ids in " .. path)
  end
  -- Spread the threads' starting points over the list.
  local n = tonumber(thread_number) or 1
  next_index = ((n - 1) * math.floor(#ids / 2)) % #ids + 1
end

function request()
  local id = ids[next_index]
  next_index = next_index % #ids + 1
  return wrk.format(nil, "/api/v1/recommendations/" .. id .. "/events")
end
