-- The promoter's loop: every LABGEN_POLL_MS, elect, fail over, run a requested switchover, or
-- enforce rule 1 (the active ready, every standby in MAINT).
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local http = require("labgen.http")
local servers = require("labgen.servers")
local state = require("labgen.state")
local builds = require("labgen.builds")
local promotion = require("labgen.promotion")
local homecheck = require("labgen.homecheck")
local lease = require("labgen.lease")

local poll = {}

local SYNC_POLL_MS = 5 -- while a starting worker waits for its peers to hand the decision over

-- Right after a promotion HAProxy releases every request it held at once; one connect that fails
-- in that burst marks the new active DOWN (observe layer4, error-limit 1) although it serves. Within
-- LABGEN_SETTLE_MS of the promotion a DOWN that is not the home check's is confirmed first: a new
-- active that answers GET /login itself is forced up again instead of failed over (which, after a
-- planned switchover, would send traffic back to the old active).
local function settling(name, seen)
  if runtime.now_ms() - state.promoted_at >= settings.settle_ms or servers.down_by_agent(seen) then
    return false
  end
  if not http.answers_login(name) then
    return false
  end
  servers.get(name):check_force_up()
  runtime.log("active.settled", { { "name", name }, { "status", seen } })
  return true
end

local function fail_over(active, seen)
  if not state.down_since then
    state.down_since = runtime.now_ms()
    runtime.log("active.down", { { "name", active }, { "status", seen } })
  end
  local new = homecheck.standby_for(active)
  if new then
    promotion.promote(active, new, "down")
  else
    runtime.log("no-standby", { { "active", active } })
    state.retry_at = runtime.now_ms() + settings.poll_ms * 5
  end
end

local function switch_over(active, request)
  if request == active then
    state.answer = { 200, request .. " is already the active master" }
  elseif http.answers_login(request) then
    local ok = promotion.promote(active, request, "switchover")
    state.answer = { ok and 200 or 500, state.last .. (ok and "" or " (undone: the old active serves again)") }
  else
    state.answer = { 409, "refused: " .. request .. " does not answer GET /login with 200" }
  end
end

-- Rule 1, enforced: the active ready, every standby in MAINT.
local function enforce(active)
  if servers.is_maint(active) then
    servers.get(active):set_ready()
  end
  for _, name in ipairs(settings.masters) do
    if name ~= active then
      servers.set_maint(name)
    end
  end
end

-- An old worker after a soft reload (its listeners stopped: the new worker serves new requests)
-- finishes its sessions, which can last an hour (agents): it promotes nothing meanwhile, else a
-- failover then would be done twice, by both workers.
local function stopping()
  local frontend = core.frontends[names.HTTP_FRONTEND]
  return frontend ~= nil and frontend:get_stats()["status"] == "STOP"
end

function poll.once()
  if stopping() then
    if not state.stopping then
      state.stopping = true
      runtime.log("worker.stopping", { { "active", state.active } })
    end
    return
  end
  if runtime.now_ms() < state.retry_at then
    return
  end
  if state.active == nil then
    return promotion.start() and SYNC_POLL_MS or nil
  end
  if lease.enabled and not promotion.renew() then
    if state.active then
      servers.set_maint(state.active) -- the lease ran out: serve nothing until the home answers again
    end
    return
  end
  local active = state.active
  local request = state.request
  state.request = nil
  local seen = servers.status(active)
  if seen:sub(1, 4) == "DOWN" then
    if not builds.active_collided(active) and not settling(active, seen) then
      fail_over(active, seen)
    end
  elseif request then
    switch_over(active, request)
  else
    enforce(active)
  end
end

function poll.loop()
  runtime.log("start", { { "masters", table.concat(settings.masters, ",") }, { "backend", settings.backend } })
  while true do
    local ok, soon = pcall(poll.once)
    if not ok then
      runtime.log("error", { { "detail", soon } })
      state.phase = state.active and "serving" or "electing"
      state.promoting = nil
    end
    runtime.sleep_ms(ok and soon or settings.poll_ms)
  end
end

return poll
