-- Issue 11: collisions and builds.
--
-- Two live Jenkins on one JENKINS_HOME (the active and a standby in MAINT) trip Jenkins'
-- DoubleLaunchChecker: every URL of a master that noticed the other answers 500 until POST /ignore
-- (which holds for the rest of that process's life). A standby in collision cannot be reloaded
-- (POST /reload gets the 500 page too), and an active in collision fails its health check. The
-- promoter answers the page (POST /ignore as admin) on the active before it would fail over, on a
-- standby before it promotes it, and on any master its watch finds in collision.
-- Builds: Jenkins keeps its queue in memory (queue.xml is saved up to 60 s later, and a reloading
-- standby overwrites it with its own empty queue), and a build running on a dead master is lost.
-- The watch remembers the active's queue and running builds (API, every LABGEN_BUILD_WATCH_MS);
-- after a failover the queued ones are posted again on the new active, and the running ones are
-- reported (and posted again only with LABGEN_REQUEUE_INTERRUPTED=1, the spec's
-- jenkins.requeue_interrupted).
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local text = require("labgen.text")
local json = require("labgen.json")
local runtime = require("labgen.runtime")
local http = require("labgen.http")
local servers = require("labgen.servers")
local state = require("labgen.state")

local builds = {
  master = nil, -- the master the snapshot is of
  at = 0, -- when it was taken (ms since the epoch)
  queued = {}, -- {job=, params={{name, value}...}, id=}
  running = {}, -- {job=, number=, params=}
  requeued = {}, -- what the promoter posted again: {job=, kind=, from=, to=, item=, number=, at=}
  interrupted = {}, -- builds running on a failed active: {job=, number=, master=, requeued=, at=}
  collisions = {}, -- pages answered: {master=, at=, ok=}
  stale = {}, -- master -> queue ids re-queued elsewhere, to cancel there if it comes back (pause, partition)
}

local COLLISION_MARK = "more than one instance of Jenkins"
local KEEP = 50 -- records kept for GET /labgen/state
local QUEUE_TREE = "/queue/api/json?tree=items[id,params,task[name]]"
local EXECUTORS_TREE =
  "/computer/api/json?tree=computer[executors[currentExecutable[number,url,actions[parameters[name,value]]]]]"

-- ------------------------------------------------------------------ pure: what the API answers mean

function builds.remember(list, record)
  list[#list + 1] = record
  if #list > KEEP then
    table.remove(list, 1)
  end
end

-- A page of the DoubleLaunchChecker: HTTP 500 with its text.
function builds.is_collision_page(code, body)
  return code == 500 and string.find(body or "", COLLISION_MARK, 1, true) ~= nil
end

-- The parameters of a running build (its ParametersAction) as {{name, value}, ...}.
function builds.build_params(actions)
  local found = {}
  for _, action in ipairs(actions or {}) do
    for _, p in ipairs(type(action) == "table" and action.parameters or {}) do
      if p.name then
        found[#found + 1] = { p.name, tostring(p.value == nil and "" or p.value) }
      end
    end
  end
  return found
end

-- /queue/api/json -> {job=, params=, id=} for each item.
function builds.queued_items(queue)
  local queued = {}
  for _, item in ipairs(queue.items or {}) do
    if item.task and item.task.name then
      queued[#queued + 1] = { job = item.task.name, params = text.parse_params(item.params), id = item.id }
    end
  end
  return queued
end

-- /computer/api/json -> {job=, number=, params=} for each build an executor runs.
function builds.running_builds(computers)
  local running = {}
  for _, computer in ipairs(computers.computer or {}) do
    for _, executor in ipairs(computer.executors or {}) do
      local build = executor.currentExecutable
      local job = build and string.match(build.url or "", "/job/([^/]+)/%d+/?$")
      if job then
        running[#running + 1] = { job = text.url_decode(job), number = build.number, params = builds.build_params(build.actions) }
      end
    end
  end
  return running
end

-- The path that posts `record` again (after `old` failed), with its parameters.
function builds.build_path(record, old)
  local query = { "delay=0sec", "cause=" .. text.url_encode("re-queued by labgen after " .. old .. " failed") }
  for _, p in ipairs(record.params) do
    query[#query + 1] = text.url_encode(p[1]) .. "=" .. text.url_encode(p[2])
  end
  local verb = #record.params > 0 and "buildWithParameters" or "build"
  return "/job/" .. text.url_encode(record.job) .. "/" .. verb .. "?" .. table.concat(query, "&")
end

-- Is `record` already in `present` (a /queue/api/json answer)?
function builds.already_queued(present, record)
  for _, item in ipairs(present.items or {}) do
    if item.task and item.task.name == record.job and text.same_params(text.parse_params(item.params), record.params) then
      return true
    end
  end
  return false
end

-- For GET /labgen/state: what the promoter did about builds and collisions.
function builds.report(requeue_interrupted)
  return json.object({
    { "requeue_interrupted", requeue_interrupted },
    { "watched", builds.master },
    { "queued", #builds.queued },
    { "running", #builds.running },
    { "requeued", json.records(builds.requeued, { "job", "kind", "from", "to", "item", "number", "at", "why" }) },
    { "interrupted", json.records(builds.interrupted, { "job", "number", "master", "requeued", "at" }) },
    { "collisions", json.records(builds.collisions, { "master", "at", "ok" }) },
  })
end

-- ------------------------------------------------------------------ talking to the masters

-- Answer the DoubleLaunchChecker page if `name` shows it: true when it did (and the master serves again).
function builds.answer_collision(name)
  local code, _, body = http.fetch(name, "GET", names.LOGIN_PATH, false, true)
  if not builds.is_collision_page(code, body) then
    return false
  end
  local answer = http.call(name, "POST", "/ignore", true)
  local ok = http.answers_login(name)
  builds.remember(builds.collisions, { master = name, at = runtime.now_ms(), ok = ok })
  runtime.log("collision.ignored", { { "name", name }, { "ignore", answer or "none" }, { "ok", ok } })
  if ok and name == state.active then
    servers.get(name):check_force_up() -- its health check failed on the 500 page: it serves again now
  end
  return ok
end

-- The active went DOWN: was it the collision page (its check got an HTTP 500), not a failure?
function builds.active_collided(name)
  local srv = servers.get(name)
  return srv ~= nil and tostring(srv:get_stats()["check_code"]) == "500" and builds.answer_collision(name)
end

-- One look at the active's queue and executors; the last good one is kept when the active fails.
function builds.snapshot(name)
  local queue = http.get_json(name, QUEUE_TREE)
  local computers = http.get_json(name, EXECUTORS_TREE)
  if not queue or not computers then
    return
  end
  local queued, running = builds.queued_items(queue), builds.running_builds(computers)
  if state.active == name and state.phase == "serving" then
    builds.master, builds.at, builds.queued, builds.running = name, runtime.now_ms(), queued, running
  end
end

-- POST the build again on `new`, with its parameters; the queue item's id, or nil and why not.
local function post_build(new, old, record)
  local code, head = http.fetch(new, "POST", builds.build_path(record, old), true, true)
  if code ~= 201 then
    return nil, tostring(code or head)
  end
  return tonumber(string.match(head or "", "/queue/item/(%d+)")) or 0
end

-- What to post again after a promotion from `old`: its queue, and (when asked) its running builds;
-- the running ones are reported either way. A switchover cancels the old active's queue items.
local function collect(old, queued, running, reason)
  local todo = {}
  builds.stale[old] = {}
  for _, item in ipairs(queued) do
    if reason == "switchover" then
      http.call(old, "POST", "/queue/cancelItem?id=" .. tostring(item.id), true)
    else
      table.insert(builds.stale[old], item.id)
    end
    todo[#todo + 1] = { job = item.job, params = item.params, kind = "queued" }
  end
  for _, build in ipairs(running) do
    local again = settings.requeue_interrupted and reason ~= "switchover"
    if reason ~= "switchover" then
      builds.remember(builds.interrupted, { job = build.job, number = build.number, master = old, requeued = again, at = runtime.now_ms() })
    end
    runtime.log("build.interrupted", {
      { "job", build.job },
      { "number", build.number },
      { "master", old },
      { "reason", reason },
      { "requeue", again and "yes" or "no" },
    })
    if again then
      todo[#todo + 1] = { job = build.job, params = build.params, kind = "running", number = build.number }
    end
  end
  return todo
end

-- After a promotion from `old` to `new`: post again what `old` had queued (and, when asked, what it
-- was running), and report what it was running. A planned switchover cancels the old active's
-- items (it keeps them in memory and would build them once out of quiet down) and leaves its
-- running builds to finish there.
function builds.requeue_after(old, new, reason)
  if builds.master ~= old or old == nil then
    return
  end
  local queued, running = builds.queued, builds.running
  builds.master, builds.queued, builds.running = nil, {}, {}
  local todo = collect(old, queued, running, reason)
  if #todo == 0 then
    return
  end
  local present = http.get_json(new, "/queue/api/json?tree=items[params,task[name]]") or { items = {} }
  for _, record in ipairs(todo) do
    local id, why = nil, "already queued on " .. new
    if not builds.already_queued(present, record) then
      id, why = post_build(new, old, record)
    end
    builds.remember(builds.requeued, {
      job = record.job, kind = record.kind, from = old, to = new, item = id, number = record.number, at = runtime.now_ms(), why = id and "" or why,
    })
    runtime.log("build.requeued", {
      { "job", record.job },
      { "kind", record.kind },
      { "from", old },
      { "to", new },
      { "item", id or "none" },
      { "detail", id and "posted" or why },
    })
  end
end

-- A failed active that comes back (paused, cut off) still has its queue in memory and would build it
-- as a standby: cancel there what was posted again on the new active.
function builds.cancel_stale(name)
  local ids = builds.stale[name]
  if not ids or #ids == 0 or name == state.active or http.call(name, "GET", names.LOGIN_PATH, false) ~= 200 then
    return
  end
  for _, id in ipairs(ids) do
    local code = http.call(name, "POST", "/queue/cancelItem?id=" .. tostring(id), true)
    runtime.log("build.cancelled", { { "master", name }, { "item", id }, { "status", code or "none" } })
  end
  builds.stale[name] = nil
end

-- The watch: a task of its own, so that a slow or dead master never delays the promoter's poll.
function builds.watch()
  local last_collision_check = 0
  while true do
    local ok, err = pcall(function()
      if state.active and state.phase == "serving" and servers.is_up(state.active) then
        builds.snapshot(state.active)
      end
      if runtime.now_ms() - last_collision_check >= settings.collision_check_ms then
        last_collision_check = runtime.now_ms()
        for _, name in ipairs(settings.masters) do
          if state.phase == "serving" and http.call(name, "GET", names.LOGIN_PATH, false) == 500 then
            builds.answer_collision(name)
          end
          builds.cancel_stale(name)
        end
      end
    end)
    if not ok then
      runtime.log("watch.error", { { "detail", err } })
    end
    runtime.sleep_ms(settings.build_watch_ms)
  end
end

return builds
