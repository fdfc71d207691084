-- The promoter's HTTP service on the stats port: GET /labgen/state, POST /labgen/switchover?to=NAME.
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local json = require("labgen.json")
local http = require("labgen.http")
local servers = require("labgen.servers")
local state = require("labgen.state")
local builds = require("labgen.builds")
local hold = require("labgen.hold")

local service = {}

function service.state_json()
  local masters = {}
  for _, name in ipairs(settings.masters) do
    masters[#masters + 1] = { name, servers.status(name) }
  end
  return json.object({
    { "active", state.active },
    { "phase", state.phase },
    { "promoting", state.promoting },
    { "promotions", state.promotions },
    { "epoch", state.epoch },
    { "adopted", state.adopted },
    -- a pair: how long it may still serve without the home confirming its epoch (nil: one HAProxy)
    { "lease_ms", state.lease_until ~= math.huge and math.max(0, state.lease_until - runtime.now_ms()) or nil },
    { "last", state.last },
    { "servers", json.object(masters) },
    { "builds", builds.report(settings.requeue_interrupted) },
  })
end

-- A planned switchover, run by the poll task (the one place that changes server states); waits for it.
local function switchover(target)
  if not servers.is_master(target) then
    return 400, "to= must name a master"
  end
  if state.active == nil or state.phase ~= "serving" then
    return 409, "refused: no master serves yet (phase " .. state.phase .. ")"
  end
  if target ~= state.active and not http.answers_login(target) then
    return 409, "refused: " .. target .. " does not answer GET /login with 200"
  end
  state.answer = nil
  state.request = target
  local start = runtime.now_ms()
  while state.answer == nil and runtime.now_ms() - start < settings.switchover_answer_ms do
    runtime.sleep_ms(50)
  end
  if state.answer == nil then
    return 504, "the promoter did not answer"
  end
  return state.answer[1], state.answer[2]
end

-- HTTP 503 for a request that found no master: past the hold timeout it says why (and HAProxy
-- gives it to the client); before, HAProxy retries it on the active of that moment.
function service.unavailable(applet)
  local body = "labgen: no Jenkins master may serve yet; HAProxy retries this request\n"
  if applet:get_var(names.HOLD_GAVE_UP_VAR) then
    body = hold.why()
  end
  applet:set_status(503)
  applet:add_header("content-type", "text/plain; charset=utf-8")
  applet:add_header("content-length", tostring(#body))
  applet:add_header("cache-control", "no-cache")
  applet:start_response()
  applet:send(body)
end

function service.serve(applet)
  local code, body = 200, nil
  if applet.path == names.PROMOTER_SWITCHOVER_PATH and applet.method == "POST" then
    local message
    code, message = switchover(string.match(applet.qs or "", "to=([%w_.-]+)") or "")
    body = json.object({ { "ok", code == 200 }, { "message", message }, { "state", service.state_json() } }).text
  elseif applet.path ~= names.PROMOTER_STATE_PATH then
    code, body = 404, json.object({ { "error", "not found" } }).text
  end
  body = (body or service.state_json().text) .. "\n"
  applet:set_status(code)
  applet:add_header("content-type", "application/json")
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end

return service
