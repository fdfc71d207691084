-- Rules 2 to 4: promote a standby (reload it, then route to it), the election at start.
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local http = require("labgen.http")
local servers = require("labgen.servers")
local state = require("labgen.state")
local builds = require("labgen.builds")
local decision = require("labgen.decision")
local lease = require("labgen.lease")

local promotion = {}

local STARTED = runtime.now_ms()

-- POST /reload on `name`, then wait until GET /api/json answers 200 after a 503 (or only 200s for
-- LABGEN_RELOAD_QUIET_MS: a master that reloads too fast to be seen). `waiting` (optional) is called
-- while it waits (a pair's claimer renews its claim).
function promotion.reload(name, waiting)
  local code, why = http.call(name, "POST", "/reload", true)
  if code ~= 302 and code ~= 200 then
    return false, "POST /reload: " .. tostring(code or why)
  end
  local start = runtime.now_ms()
  local saw_503 = false
  while runtime.now_ms() - start < settings.reload_timeout_ms do
    local answer = http.call(name, "GET", "/api/json?tree=mode", true)
    if answer == 503 then
      saw_503 = true
    elseif answer == 401 or answer == 403 then
      return false, "GET /api/json: " .. answer .. " (admin credentials?)"
    elseif answer == 200 and (saw_503 or runtime.now_ms() - start >= settings.reload_quiet_ms) then
      return true, string.format("%d ms", runtime.now_ms() - start)
    end
    if waiting then
      waiting()
    end
    runtime.sleep_ms(50)
  end
  return false, "not reloaded after " .. settings.reload_timeout_ms .. " ms"
end

local function wait_drained(name)
  local start = runtime.now_ms()
  while servers.sessions(name) > 0 and runtime.now_ms() - start < settings.drain_timeout_ms do
    runtime.sleep_ms(20)
  end
end

-- Fencing: a write still in flight to the old active (frozen or cut off, not dead) would be
-- answered 200 when it wakes up, after the new active was reloaded without it: an acknowledged
-- write the new active never lists. Cutting those sessions at promotion turns that 200 into no
-- answer (an unknown outcome, never a false acknowledgement). Reads are retried elsewhere instead.
local function fence_writes(old)
  local backend = settings.write_backend and core.backends[settings.write_backend]
  local srv = backend and backend.servers[old]
  if srv then
    srv:shut_sess()
    runtime.log("fence.writes", { { "name", old } })
  end
end

-- A planned switchover's first step: the old active builds nothing new and finishes its sessions.
local function quiet_down(old)
  local code = http.call(old, "POST", "/quietDown", true)
  runtime.log("switchover.quietdown", { { "name", old }, { "status", code or "none" } })
  local quiet = string.format("; POST /quietDown on %s: %s", old, code or "no answer")
  if code == 404 then
    quiet = quiet .. " (not supported by this master: builds were not held back)"
  end
  wait_drained(old)
  return quiet
end

local function undo(old, new, reason, detail, quiet)
  runtime.log("promote.failed", { { "new", new }, { "detail", detail } })
  state.retry_at = runtime.now_ms() + settings.retry_ms
  if reason == "switchover" and old then
    servers.get(old):set_ready()
    http.call(old, "POST", "/cancelQuietDown", true)
  end
  state.phase = state.active and "serving" or "electing"
  state.promoting = nil
  state.last = "failed " .. reason .. " to " .. new .. ": " .. detail .. quiet
end

-- Rule 3 and 4: every master but `new` to MAINT, reload `new`, then route to it.
function promotion.promote(old, new, reason)
  local start = runtime.now_ms()
  local quiet = ""
  state.promoting = new
  state.phase = reason == "switchover" and "switchover" or "failover"
  runtime.log(names.PROMOTE_START_EVENT, { { "old", old }, { "new", new }, { "reason", reason } })
  for _, name in ipairs(settings.masters) do
    if name ~= new then
      servers.set_maint(name)
    end
  end
  if reason == "down" and old then
    fence_writes(old)
  end
  if reason == "switchover" and old then
    quiet = quiet_down(old)
  end
  -- A pair (lease.lua, rule 1): claim the next epoch on the home first; the loser follows the winner.
  local epoch, claimed_at = nil, nil
  if lease.enabled then
    state.lease_until = -math.huge -- whatever it served before, it serves nothing until this is decided
    epoch, claimed_at = promotion.claim(new)
    if not epoch then
      return promotion.lost(old, new, reason, quiet)
    end
  end
  state.phase = "reloading"
  local ok, detail = promotion.reload(new, epoch and promotion.renewer(epoch, new))
  if ok and lease.enabled then
    ok, detail = promotion.confirm_claim(epoch, new, claimed_at, detail)
  end
  if not ok then
    if lease.enabled then
      state.failed_claim = epoch
      return promotion.lost(old, new, reason, quiet, detail)
    end
    undo(old, new, reason, detail, quiet)
    return false
  end
  -- The reload just answered 200, but HAProxy's own check may still hold the DOWN it saw during
  -- the reload's 503s until its next run: without this, the next poll would fail over back.
  servers.get(new):check_force_up()
  servers.get(new):set_ready()
  state.promoted_at = runtime.now_ms()
  state.active = new
  state.down_since = nil
  state.promotions = state.promotions + 1
  -- the decision outlives this worker (a soft reload, a restart while a peer holds it): the new epoch
  state.epoch = epoch or math.max(state.epoch, decision.recorded() or 0) + 1
  if not decision.record(state.epoch, new, settings.probe_timeout_ms) then
    runtime.log("decision.unrecorded", { { "epoch", state.epoch }, { "master", new } })
  end
  state.phase = "serving"
  state.promoting = nil
  state.last = string.format("%s to %s in %d ms (reload %s)%s", reason, new, runtime.now_ms() - start, detail, quiet)
  runtime.log("promote.done", { { "old", old }, { "new", new }, { "reason", reason }, { "ms", runtime.now_ms() - start } })
  builds.requeue_after(old, new, reason)
  if reason == "switchover" and old then
    http.call(old, "POST", "/cancelQuietDown", true) -- a standby must be able to build once promoted
  end
  return true
end

-- A pair, rule 1: claim the epoch after the newest this promoter decided on (state.epoch: its own
-- active's, or the newest it saw while following), for `name`: the epoch and when the claim was
-- answered; nil when another promoter claimed it first (or no home answers). Never the epoch after
-- the home's newest: that one may be another promoter's claim in progress, which this one would
-- supersede without having seen it.
function promotion.claim(name)
  local wanted = state.epoch + 1
  local answer = lease.claim(wanted, name)
  local answered_at = runtime.now_ms()
  if not answer then
    state.last = "no master's home check answered: cannot claim an epoch"
    return nil
  end
  if answer.verdict ~= "ok" then
    state.epoch = math.max(state.epoch, answer.epoch)
    state.last = string.format("epoch %d claimed by another promoter (%s)", wanted, answer.master)
    return nil
  end
  return answer.epoch, answered_at
end

-- A pair: renew the claim every LABGEN_CLAIM_RENEW_MS while the master reloads (the other promoter
-- would take a silent claim as abandoned).
function promotion.renewer(epoch, name)
  local count, last = 0, runtime.now_ms()
  return function()
    if runtime.now_ms() - last >= settings.claim_renew_ms then
      count, last = count + 1, runtime.now_ms()
      lease.renew(epoch, name, count)
    end
  end
end

-- A pair, rule 2: serve no sooner than LABGEN_LEASE_MS after the claim, and only if the home still
-- names this epoch (`ready` marks it so for the other promoter).
function promotion.confirm_claim(epoch, name, claimed_at, detail)
  local wait = claimed_at + settings.lease_ms - runtime.now_ms()
  if wait > 0 then
    runtime.sleep_ms(wait)
  end
  local sent = runtime.now_ms()
  local answer = lease.ready(epoch, name)
  if not answer or answer.verdict ~= "ok" then
    return false, string.format("epoch %d superseded before %s was ready", epoch, name)
  end
  state.lease_until = sent + settings.lease_ms
  return true, detail
end

-- A pair: the claim was lost (or its reload failed): every master in MAINT, follow what the home says.
function promotion.lost(old, new, reason, quiet, detail)
  for _, name in ipairs(settings.masters) do
    servers.set_maint(name)
  end
  if reason == "switchover" and old then
    http.call(old, "POST", "/cancelQuietDown", true)
  end
  runtime.log("promote.lost", { { "new", new }, { "detail", detail or state.last } })
  state.last = "no " .. reason .. " to " .. new .. ": " .. (detail or state.last) .. (quiet or "")
  state.active = nil
  state.phase = "electing"
  state.promoting = nil
  return false
end

-- A decision recorded before this worker started (the old worker's, handed over on a soft reload, or
-- a peer's): its master was reloaded when it was promoted and has been the only one serving since, so
-- it is consistent with the home. Adopted as it is when it answers GET /login: no reload, no hold.
function promotion.adopt(epoch, name, confirmed_at)
  if not http.answers_login(name) then
    runtime.log("adopt.refused", { { "name", name }, { "epoch", epoch }, { "why", "no answer to GET /login" } })
    return false
  end
  for _, other in ipairs(settings.masters) do
    if other ~= name then
      servers.set_maint(other)
    end
  end
  servers.get(name):check_force_up()
  servers.get(name):set_ready()
  state.active = name
  state.epoch = epoch
  state.promoted_at = runtime.now_ms()
  state.down_since = nil
  state.phase = "serving"
  if confirmed_at then
    state.lease_until = confirmed_at + settings.lease_ms
  end
  state.adopted = string.format("%s epoch %d", name, epoch)
  state.last = "adopted " .. state.adopted .. " (recorded decision, no reload)"
  runtime.log("adopt", { { "name", name }, { "epoch", epoch } })
  return true
end

-- Rule 2: the first master (only the first one during LABGEN_ELECT_GRACE_MS) that answers GET /login.
function promotion.elect(no_grace)
  local electable = settings.masters
  if not no_grace and runtime.now_ms() - STARTED < settings.elect_grace_ms then
    electable = { settings.masters[1] }
  end
  for _, name in ipairs(electable) do
    if http.answers_login(name) then
      promotion.promote(nil, name, "elect")
      return
    end
  end
end

-- Worker start: adopt the recorded decision; elect only without a usable one, after giving the peers
-- LABGEN_PEER_SYNC_MS to hand the table over. True while it waits for them (the poll then comes back
-- sooner: requests wait in HAProxy meanwhile).
function promotion.start()
  if lease.enabled then
    return promotion.follow()
  end
  local epoch, name = decision.recorded(servers.is_master)
  if epoch then
    if promotion.adopt(epoch, name) then
      return
    end
    state.epoch = math.max(state.epoch, epoch)
    promotion.elect(true) -- the recorded master is gone: any master that answers, reloaded
    return
  end
  if runtime.now_ms() - STARTED < settings.peer_sync_ms then
    return true
  end
  promotion.elect()
end

-- A pair, no active here: adopt the home's ready decision (another promoter reloaded it), wait for a
-- claim another promoter is working on, or elect when there is none (or that claim went stale: not
-- ready within a reload's timeout, by this promoter's clock).
function promotion.follow()
  local sent = runtime.now_ms()
  local newest = lease.read()
  if not newest then
    state.last = "no master's home check answers: nothing may be promoted"
    return
  end
  state.epoch = math.max(state.epoch, newest.epoch)
  if newest.epoch == 0 then
    promotion.elect()
    return
  end
  if not servers.is_master(newest.master) then
    promotion.elect(true)
    return
  end
  if newest.state == "ready" then
    if not promotion.adopt(newest.epoch, newest.master, sent) then
      promotion.elect(true) -- its master is gone: promote another (a new claim)
    end
    return
  end
  state.claim_seen = state.claim_seen or {}
  local abandoned = lease.abandoned(state.claim_seen, newest, runtime.now_ms(), settings.claim_stale_ms)
  if state.failed_claim == newest.epoch or abandoned then
    runtime.log("claim.stale", { { "epoch", newest.epoch }, { "master", newest.master } })
    promotion.elect(true)
  end
end

-- A pair, rule 3, while serving: the home still names this promoter's epoch. False when this
-- promoter must stop serving its master (a newer epoch: it was superseded; the master left in MAINT).
function promotion.renew()
  local sent = runtime.now_ms()
  local newest = lease.read(state.active)
  if lease.names(newest, state.epoch, state.active) then
    state.lease_until = sent + settings.lease_ms
    return true
  end
  if newest and newest.epoch > state.epoch then
    runtime.log("decision.superseded", { { "epoch", state.epoch }, { "by", newest.epoch }, { "master", newest.master } })
    fence_writes(state.active)
    for _, name in ipairs(settings.masters) do
      servers.set_maint(name)
    end
    state.active = nil
    state.phase = "electing"
    return false
  end
  return sent < state.lease_until -- no answer (or an older epoch): serve until the lease runs out
end

return promotion
