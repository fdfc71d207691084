-- labgen's promoter: active/passive failover of the Jenkins masters inside HAProxy itself.
--
-- Loaded by the `ha` profile's haproxy.cfg (`lua-load`); needs HAProxy 2.0+ built with USE_LUA=1.
-- HAProxy is already the lab's single point of failure, so the promotion adds none: there is no
-- separate process to kill, stop or pause, and a promotion cut short by an HAProxy restart is
-- redone from scratch, because a starting HAProxy trusts no master (the rules below).
--
-- The rules (the Python controller's, images/controller before issue 10):
--  1. One active master, every other one in MAINT (the config starts them all `disabled`, so a
--     starting HAProxy never sends traffic to a stale master).
--  2. Election at start: the first master (in LABGEN_MASTERS order; only the first one during
--     LABGEN_ELECT_GRACE_MS) that answers GET /login directly is reloaded, then made ready.
--  3. The active goes DOWN in HAProxy: every other master to MAINT (the old active too, so that it
--     comes back as a standby), the first standby that answers GET /login is reloaded (POST
--     /reload, then GET /api/json until 200 after a 503), then made ready. A failed reload is
--     undone (the standby stays in MAINT) and retried after LABGEN_RETRY_MS.
--  4. Planned switchover (POST /labgen/switchover?to=NAME on the stats port): quiet down the active (POST /quietDown), put it in MAINT,
--     wait until its sessions are done, reload the target, make it ready. Refused when the target
--     does not answer GET /login; undone (old active ready again, POST /cancelQuietDown) when the
--     reload fails.
-- While no master is ready, requests wait in HAProxy (the `hold` backup server and L7 retries in
-- haproxy.cfg), so a client sees a slower answer, not an error.
-- Settings (environment, `setenv` in haproxy.cfg): LABGEN_MASTERS (comma separated server names
-- of LABGEN_HTTP_BACKEND), JENKINS_ADMIN_USER and JENKINS_ADMIN_TOKEN (for POST /reload).
-- Issue 11 (the section "collisions and builds" below): DoubleLaunchChecker's page is answered
-- (POST /ignore) instead of failing over; the active's queue is re-queued on the new active after a
-- failover, its running builds are reported (and re-queued with LABGEN_REQUEUE_INTERRUPTED=1);
-- LABGEN_BUILD_WATCH_MS and LABGEN_COLLISION_CHECK_MS set how often it looks.

local env = os.getenv

local function setting_ms(name, default)
  return tonumber(env(name) or "") or default
end

local MASTERS = {}
for name in string.gmatch(env("LABGEN_MASTERS") or "", "[^,%s]+") do
  MASTERS[#MASTERS + 1] = name
end
local BACKEND = env("LABGEN_HTTP_BACKEND") or "jenkins"
local WRITE_BACKEND = env("LABGEN_WRITE_BACKEND")
local POLL_MS = setting_ms("LABGEN_POLL_MS", 100)
local PROBE_MS = setting_ms("LABGEN_PROBE_TIMEOUT_MS", 1000)
local RELOAD_MS = setting_ms("LABGEN_RELOAD_TIMEOUT_MS", 120000)
local QUIET_MS = setting_ms("LABGEN_RELOAD_QUIET_MS", 2000)
local RETRY_MS = setting_ms("LABGEN_RETRY_MS", 2000)
local DRAIN_MS = setting_ms("LABGEN_DRAIN_TIMEOUT_MS", 5000)
local ELECT_GRACE_MS = setting_ms("LABGEN_ELECT_GRACE_MS", 10000)
local HOLD_MS = setting_ms("LABGEN_HOLD_MS", 15000)
local SETTLE_MS = setting_ms("LABGEN_SETTLE_MS", 5000)

-- ------------------------------------------------------------------ small helpers

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    for k = 0, 3 do
      if k <= 1 or (k == 2 and b) or (k == 3 and c) then
        local index = ((n >> (18 - 6 * k)) & 63) + 1
        out[#out + 1] = B64:sub(index, index)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

local AUTH = base64((env("JENKINS_ADMIN_USER") or "admin") .. ":" .. (env("JENKINS_ADMIN_TOKEN") or ""))

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec // 1000
end

local STARTED = now_ms()

local function log(event, fields)
  local parts = { "labgen-promoter: " .. event }
  for _, key in ipairs(fields or {}) do
    parts[#parts + 1] = key[1] .. "=" .. tostring(key[2])
  end
  core.Info(table.concat(parts, " "))
end

local function server(name)
  local backend = core.backends[BACKEND]
  return backend and backend.servers[name]
end

local function status(name)
  local srv = server(name)
  if not srv then
    return "UNKNOWN"
  end
  return srv:get_stats()["status"] or "UNKNOWN"
end

local function sessions(name)
  local srv = server(name)
  return srv and tonumber(srv:get_stats()["scur"]) or 0
end

local function is_maint(name)
  return status(name):sub(1, 5) == "MAINT"
end

local function set_maint(name)
  if not is_maint(name) then
    server(name):set_maint()
  end
end

-- One HTTP/1.0 request straight to a master (its address as HAProxy resolved it): the status code,
-- the response head and (when `want_body`) its body; or nil and why not.
local function fetch(name, method, path, auth, want_body)
  local srv = server(name)
  if not srv then
    return nil, "no such server"
  end
  local host, port = string.match(srv:get_addr() or "", "^(.+):(%d+)$")
  if not host or host == "0.0.0.0" or host == "::" then
    return nil, "no address"
  end
  local sock = core.tcp()
  sock:settimeout(PROBE_MS / 1000)
  if not sock:connect(host, tonumber(port)) then
    sock:close()
    return nil, "connect failed"
  end
  local request = method .. " " .. path .. " HTTP/1.0\r\nHost: " .. name .. "\r\nConnection: close\r\n"
  if auth then
    request = request .. "Authorization: Basic " .. AUTH .. "\r\n"
  end
  if method == "POST" then
    request = request .. "Content-Length: 0\r\n"
  end
  sock:send(request .. "\r\n")
  local answer = want_body and sock:receive("*a") or sock:receive("*l")
  sock:close()
  local code = answer and tonumber(string.match(answer, "^HTTP/%d%.%d (%d%d%d)"))
  if not code then
    return nil, "no answer"
  end
  if not want_body then
    return code
  end
  local head_end = string.find(answer, "\r\n\r\n", 1, true)
  return code, answer:sub(1, head_end or #answer), head_end and answer:sub(head_end + 4) or ""
end

local function call(name, method, path, auth)
  return fetch(name, method, path, auth, false)
end

local function answers_login(name)
  return call(name, "GET", "/login", false) == 200
end

-- ------------------------------------------------------------------ the state, shared with the service

local state = {
  active = nil, -- the master that serves, once elected
  phase = "electing", -- electing, serving, failover, switchover, reloading
  promoting = nil, -- the master being promoted, while a promotion runs
  down_since = nil,
  retry_at = 0,
  request = nil, -- a planned switchover's target, until the task takes it
  answer = nil, -- {HTTP status, text}: how the task handled the request
  last = "none", -- the last promotion's result, for `labgen switchover`
  promotions = 0,
  promoted_at = -math.huge, -- when the last promotion finished (now_ms)
}

-- ------------------------------------------------------------------ issue 11: collisions and builds
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

local WATCH_MS = setting_ms("LABGEN_BUILD_WATCH_MS", 1000)
local COLLISION_MS = setting_ms("LABGEN_COLLISION_CHECK_MS", 2000)
local REQUEUE_INTERRUPTED = ({ ["1"] = true, ["true"] = true, yes = true })[env("LABGEN_REQUEUE_INTERRUPTED") or ""]
  or false
local COLLISION_MARK = "more than one instance of Jenkins"
local KEEP = 50 -- records kept for GET /labgen/state

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

local function remember(list, record)
  list[#list + 1] = record
  if #list > KEEP then
    table.remove(list, 1)
  end
end

-- A small JSON reader (HAProxy's Lua has none): objects, arrays, strings, numbers, booleans; null is nil.
local function json_decode(text)
  local pos = 1
  local escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
  local value
  local function skip()
    pos = text:find("[^ \t\r\n]", pos) or #text + 1
  end
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = text:sub(pos, pos)
      if c == "" then
        error("unterminated JSON string")
      elseif c == '"' then
        pos = pos + 1
        return table.concat(out)
      elseif c == "\\" then
        local e = text:sub(pos + 1, pos + 1)
        if e == "u" then
          out[#out + 1] = utf8.char(tonumber(text:sub(pos + 2, pos + 5), 16) or 63)
          pos = pos + 6
        else
          out[#out + 1] = escapes[e] or e
          pos = pos + 2
        end
      else
        local stop = text:find('["\\]', pos) or #text + 1
        out[#out + 1] = text:sub(pos, stop - 1)
        pos = stop
      end
    end
  end
  local function sequence(close, each)
    pos = pos + 1
    skip()
    if text:sub(pos, pos) == close then
      pos = pos + 1
      return
    end
    while true do
      skip()
      each()
      skip()
      local sep = text:sub(pos, pos)
      pos = pos + 1
      if sep == close then
        return
      elseif sep ~= "," then
        error("bad JSON at " .. pos)
      end
    end
  end
  function value()
    skip()
    local c = text:sub(pos, pos)
    if c == "{" then
      local obj = {}
      sequence("}", function()
        local key = str()
        skip()
        pos = pos + 1 -- the colon
        obj[key] = value()
      end)
      return obj
    elseif c == "[" then
      local arr = {}
      sequence("]", function()
        arr[#arr + 1] = value()
      end)
      return arr
    elseif c == '"' then
      return str()
    end
    for word, result in pairs({ ["true"] = true, ["false"] = false, ["null"] = "null" }) do
      if text:sub(pos, pos + #word - 1) == word then
        pos = pos + #word
        if result == "null" then
          return nil
        end
        return result
      end
    end
    local number = text:match("^-?[%d.eE+-]+", pos)
    if not number then
      error("bad JSON at " .. pos)
    end
    pos = pos + #number
    return tonumber(number)
  end
  return value()
end

local function get_json(name, path)
  local code, _, body = fetch(name, "GET", path, true, true)
  if code ~= 200 then
    return nil
  end
  local ok, data = pcall(json_decode, body)
  return ok and type(data) == "table" and data or nil
end

local function url_encode(text)
  return (string.gsub(text, "[^%w%-_.~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

local function url_decode(text)
  return (string.gsub(text, "%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

local function json_string(text)
  return '"' .. string.gsub(tostring(text), '[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Answer the DoubleLaunchChecker page if `name` shows it: true when it did (and the master serves again).
local function answer_collision(name)
  local code, _, body = fetch(name, "GET", "/login", false, true)
  if code ~= 500 or not string.find(body or "", COLLISION_MARK, 1, true) then
    return false
  end
  local answer = call(name, "POST", "/ignore", true)
  local ok = answers_login(name)
  remember(builds.collisions, { master = name, at = now_ms(), ok = ok })
  log("collision.ignored", { { "name", name }, { "ignore", answer or "none" }, { "ok", ok } })
  if ok and name == state.active then
    server(name):check_force_up() -- its health check failed on the 500 page: it serves again now
  end
  return ok
end

-- The active went DOWN: was it the collision page (its check got an HTTP 500), not a failure?
local function active_collided(name)
  local srv = server(name)
  return srv ~= nil and tostring(srv:get_stats()["check_code"]) == "500" and answer_collision(name)
end

-- "\nA=1\nB=2" (Queue.Item.getParams) -> {{"A","1"},{"B","2"}}
local function parse_params(text)
  local found = {}
  for line in string.gmatch(text or "", "[^\n]+") do
    local key, val = string.match(line, "^([^=]+)=(.*)$")
    if key then
      found[#found + 1] = { key, val }
    end
  end
  return found
end

local function build_params(actions)
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

-- One look at the active's queue and executors; the last good one is kept when the active fails.
local function snapshot(name)
  local queue = get_json(name, "/queue/api/json?tree=items[id,params,task[name]]")
  local computers = get_json(
    name,
    "/computer/api/json?tree=computer[executors[currentExecutable[number,url,actions[parameters[name,value]]]]]"
  )
  if not queue or not computers then
    return
  end
  local queued, running = {}, {}
  for _, item in ipairs(queue.items or {}) do
    if item.task and item.task.name then
      queued[#queued + 1] = { job = item.task.name, params = parse_params(item.params), id = item.id }
    end
  end
  for _, computer in ipairs(computers.computer or {}) do
    for _, executor in ipairs(computer.executors or {}) do
      local build = executor.currentExecutable
      local job = build and string.match(build.url or "", "/job/([^/]+)/%d+/?$")
      if job then
        running[#running + 1] = { job = url_decode(job), number = build.number, params = build_params(build.actions) }
      end
    end
  end
  if state.active == name and state.phase == "serving" then
    builds.master, builds.at, builds.queued, builds.running = name, now_ms(), queued, running
  end
end

local function same_params(a, b)
  if #a ~= #b then
    return false
  end
  for i = 1, #a do
    if a[i][1] ~= b[i][1] or a[i][2] ~= b[i][2] then
      return false
    end
  end
  return true
end

-- POST the build again on `new`, with its parameters; the queue item's id, or nil and why not.
local function post_build(new, old, record)
  local query = { "delay=0sec", "cause=" .. url_encode("re-queued by labgen after " .. old .. " failed") }
  for _, p in ipairs(record.params) do
    query[#query + 1] = url_encode(p[1]) .. "=" .. url_encode(p[2])
  end
  local verb = #record.params > 0 and "buildWithParameters" or "build"
  local path = "/job/" .. url_encode(record.job) .. "/" .. verb .. "?" .. table.concat(query, "&")
  local code, head = fetch(new, "POST", path, true, true)
  if code ~= 201 then
    return nil, tostring(code or head)
  end
  return tonumber(string.match(head or "", "/queue/item/(%d+)")) or 0
end

-- After a promotion from `old` to `new`: post again what `old` had queued (and, when asked, what it
-- was running), and report what it was running. A planned switchover cancels the old active's
-- items (it keeps them in memory and would build them once out of quiet down) and leaves its
-- running builds to finish there.
local function requeue_after(old, new, reason)
  if builds.master ~= old or old == nil then
    return
  end
  local queued, running = builds.queued, builds.running
  builds.master, builds.queued, builds.running = nil, {}, {}
  local todo = {}
  builds.stale[old] = {}
  for _, item in ipairs(queued) do
    if reason == "switchover" then
      call(old, "POST", "/queue/cancelItem?id=" .. tostring(item.id), true)
    else
      table.insert(builds.stale[old], item.id)
    end
    todo[#todo + 1] = { job = item.job, params = item.params, kind = "queued" }
  end
  for _, build in ipairs(running) do
    local again = REQUEUE_INTERRUPTED and reason ~= "switchover"
    if reason ~= "switchover" then
      remember(builds.interrupted, { job = build.job, number = build.number, master = old, requeued = again, at = now_ms() })
    end
    log("build.interrupted", {
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
  if #todo == 0 then
    return
  end
  local present = get_json(new, "/queue/api/json?tree=items[params,task[name]]") or { items = {} }
  for _, record in ipairs(todo) do
    local duplicate = false
    for _, item in ipairs(present.items or {}) do
      duplicate = duplicate or (item.task and item.task.name == record.job and same_params(parse_params(item.params), record.params))
    end
    local id, why = nil, "already queued on " .. new
    if not duplicate then
      id, why = post_build(new, old, record)
    end
    remember(builds.requeued, {
      job = record.job, kind = record.kind, from = old, to = new, item = id, number = record.number, at = now_ms(), why = id and "" or why,
    })
    log("build.requeued", {
      { "job", record.job },
      { "kind", record.kind },
      { "from", old },
      { "to", new },
      { "item", id or "none" },
      { "detail", id and "posted" or why },
    })
  end
end

local function records_json(list, keys)
  local out = {}
  for _, record in ipairs(list) do
    local fields = {}
    for _, key in ipairs(keys) do
      local v = record[key]
      if type(v) == "number" or type(v) == "boolean" then
        fields[#fields + 1] = json_string(key) .. ":" .. tostring(v)
      elseif v ~= nil then
        fields[#fields + 1] = json_string(key) .. ":" .. json_string(v)
      end
    end
    out[#out + 1] = "{" .. table.concat(fields, ",") .. "}"
  end
  return "[" .. table.concat(out, ",") .. "]"
end

-- A failed active that comes back (paused, cut off) still has its queue in memory and would build it
-- as a standby: cancel there what was posted again on the new active.
local function cancel_stale(name)
  local ids = builds.stale[name]
  if not ids or #ids == 0 or name == state.active or call(name, "GET", "/login", false) ~= 200 then
    return
  end
  for _, id in ipairs(ids) do
    local code = call(name, "POST", "/queue/cancelItem?id=" .. tostring(id), true)
    log("build.cancelled", { { "master", name }, { "item", id }, { "status", code or "none" } })
  end
  builds.stale[name] = nil
end

-- For GET /labgen/state: what the promoter did about builds and collisions.
local function builds_json()
  return string.format(
    '{"requeue_interrupted":%s,"watched":%s,"queued":%d,"running":%d,"requeued":%s,"interrupted":%s,"collisions":%s}',
    tostring(REQUEUE_INTERRUPTED),
    builds.master and json_string(builds.master) or "null",
    #builds.queued,
    #builds.running,
    records_json(builds.requeued, { "job", "kind", "from", "to", "item", "number", "at", "why" }),
    records_json(builds.interrupted, { "job", "number", "master", "requeued", "at" }),
    records_json(builds.collisions, { "master", "at", "ok" })
  )
end

-- The watch: a task of its own, so that a slow or dead master never delays the promoter's poll.
core.register_task(function()
  local last_collision_check = 0
  while true do
    local ok, err = pcall(function()
      if state.active and state.phase == "serving" and status(state.active):sub(1, 2) == "UP" then
        snapshot(state.active)
      end
      if now_ms() - last_collision_check >= COLLISION_MS then
        last_collision_check = now_ms()
        for _, name in ipairs(MASTERS) do
          if state.phase == "serving" and call(name, "GET", "/login", false) == 500 then
            answer_collision(name)
          end
          cancel_stale(name)
        end
      end
    end)
    if not ok then
      log("watch.error", { { "detail", err } })
    end
    core.msleep(WATCH_MS)
  end
end)

-- POST /reload on `name`, then wait until GET /api/json answers 200 after a 503 (or only 200s for
-- QUIET_MS: a master that reloads too fast to be seen).
local function reload(name)
  local code, why = call(name, "POST", "/reload", true)
  if code ~= 302 and code ~= 200 then
    return false, "POST /reload: " .. tostring(code or why)
  end
  local start = now_ms()
  local saw_503 = false
  while now_ms() - start < RELOAD_MS do
    local answer = call(name, "GET", "/api/json?tree=mode", true)
    if answer == 503 then
      saw_503 = true
    elseif answer == 401 or answer == 403 then
      return false, "GET /api/json: " .. answer .. " (admin credentials?)"
    elseif answer == 200 and (saw_503 or now_ms() - start >= QUIET_MS) then
      return true, string.format("%d ms", now_ms() - start)
    end
    core.msleep(50)
  end
  return false, "not reloaded after " .. RELOAD_MS .. " ms"
end

local function wait_drained(name)
  local start = now_ms()
  while sessions(name) > 0 and now_ms() - start < DRAIN_MS do
    core.msleep(20)
  end
end

-- Fencing: a write still in flight to the old active (frozen or cut off, not dead) would be
-- answered 200 when it wakes up, after the new active was reloaded without it: an acknowledged
-- write the new active never lists. Cutting those sessions at promotion turns that 200 into no
-- answer (an unknown outcome, never a false acknowledgement). Reads are retried elsewhere instead.
local function fence_writes(old)
  local backend = WRITE_BACKEND and core.backends[WRITE_BACKEND]
  local srv = backend and backend.servers[old]
  if srv then
    srv:shut_sess()
    log("fence.writes", { { "name", old } })
  end
end

-- Rule 3 and 4: every master but `new` to MAINT, reload `new`, then route to it.
local function promote(old, new, reason)
  local start = now_ms()
  local quiet = ""
  state.promoting = new
  state.phase = reason == "switchover" and "switchover" or "failover"
  log("promote.start", { { "old", old }, { "new", new }, { "reason", reason } })
  for _, name in ipairs(MASTERS) do
    if name ~= new then
      set_maint(name)
    end
  end
  if reason == "down" and old then
    fence_writes(old)
  end
  if reason == "switchover" and old then
    local code = call(old, "POST", "/quietDown", true)
    log("switchover.quietdown", { { "name", old }, { "status", code or "none" } })
    quiet = string.format("; POST /quietDown on %s: %s", old, code or "no answer")
    if code == 404 then
      quiet = quiet .. " (not supported by this master: builds were not held back)"
    end
    wait_drained(old)
  end
  state.phase = "reloading"
  local ok, detail = reload(new)
  if not ok then
    log("promote.failed", { { "new", new }, { "detail", detail } })
    state.retry_at = now_ms() + RETRY_MS
    if reason == "switchover" and old then
      server(old):set_ready()
      call(old, "POST", "/cancelQuietDown", true)
    end
    state.phase = state.active and "serving" or "electing"
    state.promoting = nil
    state.last = "failed " .. reason .. " to " .. new .. ": " .. detail .. quiet
    return false
  end
  -- The reload just answered 200, but HAProxy's own check may still hold the DOWN it saw during
  -- the reload's 503s until its next run: without this, the next poll would fail over back.
  server(new):check_force_up()
  server(new):set_ready()
  state.promoted_at = now_ms()
  state.active = new
  state.down_since = nil
  state.promotions = state.promotions + 1
  state.phase = "serving"
  state.promoting = nil
  state.last = string.format("%s to %s in %d ms (reload %s)%s", reason, new, now_ms() - start, detail, quiet)
  log("promote.done", { { "old", old }, { "new", new }, { "reason", reason }, { "ms", now_ms() - start } })
  requeue_after(old, new, reason)
  if reason == "switchover" and old then
    call(old, "POST", "/cancelQuietDown", true) -- a standby must be able to build once promoted
  end
  return true
end

local function elect()
  local electable = MASTERS
  if now_ms() - STARTED < ELECT_GRACE_MS then
    electable = { MASTERS[1] }
  end
  for _, name in ipairs(electable) do
    if answers_login(name) then
      promote(nil, name, "elect")
      return
    end
  end
end

-- labgen_homecheck (issue 12): a standby whose JENKINS_HOME does not answer (the NFS server every
-- master shares is dead, paused or cut off) is no standby: with none left the active is kept
-- (DOWN: HAProxy holds requests, then 503) until its home answers again, instead of flip-flopping
-- between masters that all wait for the same NFS. Nor is a standby whose home failed together with
-- the active's within LABGEN_HOLD_MS: once NFS is back the active comes back UP by itself (its
-- checks catch up), a promotion would only add a reload. No LABGEN_HOMECHECK_PORT: not checked.
local function home_answers(name)
  local port = tonumber(env("LABGEN_HOMECHECK_PORT") or "")
  local host = string.match(server(name) and server(name):get_addr() or "", "^(.+):%d+$")
  if not port or not host then
    return port == nil
  end
  local sock = core.tcp()
  sock:settimeout(PROBE_MS / 1000)
  local line = sock:connect(host, port) and sock:receive("*l")
  sock:close()
  return line ~= nil and line:sub(1, 2) == "up"
end

local home_down_at = {} -- when each master was last seen with a home that did not answer

-- `name`'s home failed a moment ago, and so did the active's: the same NFS outage, not a standby.
local function shared_outage(old, name)
  local function recent(master)
    return now_ms() - (home_down_at[master] or -HOLD_MS) < HOLD_MS
  end
  return recent(old) and recent(name)
end

local function standby_for(old)
  if string.find(status(old), "agent", 1, true) then
    home_down_at[old] = now_ms()
  end
  for _, name in ipairs(MASTERS) do
    if name ~= old and not home_answers(name) then
      home_down_at[name] = now_ms()
    elseif name ~= old and not shared_outage(old, name) and (answers_login(name) or answer_collision(name)) then
      return name
    end
  end
  return nil
end

-- Right after a promotion HAProxy releases every request it held at once; one connect that fails
-- in that burst marks the new active DOWN (observe layer4, error-limit 1) although it serves. Within
-- LABGEN_SETTLE_MS of the promotion a DOWN that is not the home check's is confirmed first: a new
-- active that answers GET /login itself is forced up again instead of failed over (which, after a
-- planned switchover, would send traffic back to the old active).
local function settling(name, seen)
  if now_ms() - state.promoted_at >= SETTLE_MS or string.find(seen, "agent", 1, true) then
    return false
  end
  if not answers_login(name) then
    return false
  end
  server(name):check_force_up()
  log("active.settled", { { "name", name }, { "status", seen } })
  return true
end

local function poll()
  if now_ms() < state.retry_at then
    return
  end
  if state.active == nil then
    elect()
    return
  end
  local active = state.active
  local request = state.request
  state.request = nil
  local seen = status(active)
  if seen:sub(1, 4) == "DOWN" and active_collided(active) then
    return
  end
  if seen:sub(1, 4) == "DOWN" and settling(active, seen) then
    return
  end
  if seen:sub(1, 4) == "DOWN" then
    if not state.down_since then
      state.down_since = now_ms()
      log("active.down", { { "name", active }, { "status", seen } })
    end
    local new = standby_for(active)
    if new then
      promote(active, new, "down")
    else
      log("no-standby", { { "active", active } })
      state.retry_at = now_ms() + POLL_MS * 5
    end
    return
  end
  if request then
    if request == active then
      state.answer = { 200, request .. " is already the active master" }
    elseif answers_login(request) then
      local ok = promote(active, request, "switchover")
      state.answer = { ok and 200 or 500, state.last .. (ok and "" or " (undone: the old active serves again)") }
    else
      state.answer = { 409, "refused: " .. request .. " does not answer GET /login with 200" }
    end
    return
  end
  -- Rule 1, enforced: the active ready, every standby in MAINT.
  if is_maint(active) then
    server(active):set_ready()
  end
  for _, name in ipairs(MASTERS) do
    if name ~= active then
      set_maint(name)
    end
  end
end

core.register_task(function()
  log("start", { { "masters", table.concat(MASTERS, ",") }, { "backend", BACKEND } })
  while true do
    local ok, err = pcall(poll)
    if not ok then
      log("error", { { "detail", err } })
      state.phase = state.active and "serving" or "electing"
      state.promoting = nil
    end
    core.msleep(POLL_MS)
  end
end)

-- ------------------------------------------------------------------ the hold action

-- `http-request lua.labgen_hold` (writes, in haproxy.cfg): while no master may serve (the promoter
-- elects, fails over or switches over, or the active is not UP), wait here, up to LABGEN_HOLD_MS,
-- instead of reaching the hold server. A write must not be retried once sent, and HAProxy 2.0.0
-- does not retry a request with a body after the hold server's 503: waiting before a server is
-- picked needs no retry at all.
core.register_action("labgen_hold", { "http-req" }, function()
  local start = now_ms()
  while now_ms() - start < HOLD_MS do
    if state.phase == "serving" and state.active and status(state.active):sub(1, 2) == "UP" then
      return
    end
    core.msleep(50)
  end
end)

-- ------------------------------------------------------------------ the service: state and switchover

local function state_json()
  local masters = {}
  for _, name in ipairs(MASTERS) do
    masters[#masters + 1] = string.format('"%s":"%s"', name, status(name))
  end
  return string.format(
    '{"active":%s,"phase":"%s","promoting":%s,"promotions":%d,"last":"%s","servers":{%s},"builds":%s}',
    state.active and ('"' .. state.active .. '"') or "null",
    state.phase,
    state.promoting and ('"' .. state.promoting .. '"') or "null",
    state.promotions,
    string.gsub(state.last, '"', "'"),
    table.concat(masters, ","),
    builds_json()
  )
end

local function is_master(name)
  for _, master in ipairs(MASTERS) do
    if master == name then
      return true
    end
  end
  return false
end

-- A planned switchover, run by the task (the one place that changes server states); waits for it.
local function switchover(target)
  if not is_master(target) then
    return 400, "to= must name a master"
  end
  if state.active == nil or state.phase ~= "serving" then
    return 409, "refused: no master serves yet (phase " .. state.phase .. ")"
  end
  if target ~= state.active and not answers_login(target) then
    return 409, "refused: " .. target .. " does not answer GET /login with 200"
  end
  state.answer = nil
  state.request = target
  local start = now_ms()
  while state.answer == nil and now_ms() - start < RELOAD_MS + DRAIN_MS + 5000 do
    core.msleep(50)
  end
  if state.answer == nil then
    return 504, "the promoter did not answer"
  end
  return state.answer[1], state.answer[2]
end

core.register_service("labgen", "http", function(applet)
  local code, body = 200, nil
  if applet.path == "/labgen/switchover" and applet.method == "POST" then
    local message
    code, message = switchover(string.match(applet.qs or "", "to=([%w_.-]+)") or "")
    body = string.format('{"ok":%s,"message":"%s","state":%s}', tostring(code == 200), message, state_json())
  elseif applet.path ~= "/labgen/state" then
    code, body = 404, '{"error":"not found"}'
  end
  body = (body or state_json()) .. "\n"
  applet:set_status(code)
  applet:add_header("content-type", "application/json")
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end)

