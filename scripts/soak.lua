-- The mixed load of scripts/soak, one wrk connection per thread (wrk -tN -cN), so each
-- thread's Lua state is one simulated client walking this cycle:
--   [register a new account, every REGISTER_EVERY-th cycle]
--   sign in (POST /api/v1/login)            -> session cookie
--   CHECKS x GET /api/v1/me (cookie)         session checks
--   POST /api/v1/tokens                      -> access + refresh token
--   2 x GET /api/v1/me (Bearer)              token checks
--   2 x POST /api/v1/tokens/refresh          refresh (the old token is spent each time)
--   POST /api/v1/logout (cookie)
-- Every request waits THINK_MS first (wrk's delay()), which bounds the load.
-- Arguments after `--`: RUN SLICE NODE THINK_MS CHECKS REGISTER_EVERY.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local password = "soak-password-0123"
local json = { ["Content-Type"] = "application/json" }

function init(args)
  run = args[1] or "0"
  slice = args[2] or "0"
  node = args[3] or "a"
  think = tonumber(args[4] or "50")
  checks = tonumber(args[5] or "8")
  register_every = tonumber(args[6] or "4")
  counts = {}
  bad = {}
  registered = 0
  email = nil
  cycle = 0
  plan = {}
  step = 1
  cookie = nil
  access = nil
  refresh = nil
  new_cycle()
end

function new_cycle()
  plan = {}
  if email == nil or cycle % register_every == 0 then
    table.insert(plan, "register")
  end
  table.insert(plan, "login")
  for _ = 1, checks do table.insert(plan, "me") end
  table.insert(plan, "tokens")
  table.insert(plan, "me_bearer")
  table.insert(plan, "me_bearer")
  table.insert(plan, "refresh")
  table.insert(plan, "refresh")
  table.insert(plan, "logout")
  cycle = cycle + 1
  step = 1
end

local function credentials()
  return '{"email":"' .. email .. '","password":"' .. password .. '"}'
end

function delay()
  return think
end

function request()
  local op = plan[step]
  if op == "register" then
    registered = registered + 1
    email = string.format("soak-%s-%s-%s-%d-%d@example.com", run, slice, node, tid, registered)
    return wrk.format("POST", "/api/v1/register", json, credentials())
  elseif op == "login" then
    return wrk.format("POST", "/api/v1/login", json, credentials())
  elseif op == "me" then
    return wrk.format("GET", "/api/v1/me", { ["Cookie"] = "portcullis_session=" .. (cookie or "none") })
  elseif op == "tokens" then
    return wrk.format("POST", "/api/v1/tokens", json, credentials())
  elseif op == "me_bearer" then
    return wrk.format("GET", "/api/v1/me", { ["Authorization"] = "Bearer " .. (access or "none") })
  elseif op == "refresh" then
    return wrk.format("POST", "/api/v1/tokens/refresh", json, '{"refresh_token":"' .. (refresh or "none") .. '"}')
  else -- logout
    return wrk.format("POST", "/api/v1/logout", { ["Cookie"] = "portcullis_session=" .. (cookie or "none") })
  end
end

local expected = { register = 201, login = 200, me = 200, tokens = 200, me_bearer = 200, refresh = 200, logout = 204 }

function response(status, headers, body)
  local op = plan[step]
  counts[op] = (counts[op] or 0) + 1
  if status ~= expected[op] then
    local key = op .. "_" .. status
    bad[key] = (bad[key] or 0) + 1
  end
  if op == "login" then
    local set = headers["set-cookie"] or headers["Set-Cookie"] or ""
    cookie = string.match(set, "portcullis_session=([^;]+)")
  elseif op == "tokens" or op == "refresh" then
    access = string.match(body, '"access_token":"([^"]+)"')
    refresh = string.match(body, '"refresh_token":"([^"]+)"')
  elseif op == "logout" then
    cookie = nil
  end
  step = step + 1
  if step > #plan then new_cycle() end
end

function done(summary, latency, requests)
  local total, failed = {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do total[k] = (total[k] or 0) + v end
    for k, v in pairs(t:get("bad") or {}) do failed[k] = (failed[k] or 0) + v end
  end
  local line = "ops"
  for _, k in ipairs({ "register", "login", "me", "tokens", "me_bearer", "refresh", "logout" }) do
    line = line .. " " .. k .. "=" .. (total[k] or 0)
  end
  io.write(line .. "\n")
  line = "unexpected"
  for k, v in pairs(failed) do line = line .. " " .. k .. "=" .. v end
  io.write(line .. "\n")
end
