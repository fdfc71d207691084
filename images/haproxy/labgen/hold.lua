-- Requests wait in HAProxy while no master may serve (the promoter elects, fails over or switches
-- over, or the active is not UP), however long a standby's reload takes, up to
-- LABGEN_HOLD_TIMEOUT_MS (haproxy.hold_timeout_s); past it, one 503 that says why.
--
-- `labgen_hold` (frontend, every request): waits before a server is picked. A write must not be
-- retried once sent, and waiting before a server is picked needs no retry at all.
-- `labgen_hold_again` (the hold proxy): a request already sent to a master that died, or that found
-- no master ready, comes back here; it waits for a slice (below the backends' server timeouts),
-- then the hold proxy answers 503 and HAProxy retries it on the active of that moment.
-- `labgen_hold_agent` (tcp-request, the agent port): an agent connection waits the same way.
-- `labgen_held` (http-response): the response says how long HAProxy held its request (HELD_HEADER).
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local servers = require("labgen.servers")
local state = require("labgen.state")

local hold = {}

local STEP_MS = 50
local held_again = {} -- request id -> ms it waited in the hold proxy, until its response is sent
local last_id = 0

-- "<id> <since ms>" (HOLD_HEADER) -> id, since; nil when it is not one.
function hold.parse_header(value)
  local id, since = string.match(value or "", "^(%d+) (%d+)$")
  return tonumber(id), tonumber(since)
end

-- Wait until a master may serve or `deadline` (ms) passes: true when one may, and the ms waited.
function hold.wait_until(deadline)
  local start = runtime.now_ms()
  while not state.serving(servers.is_up, runtime.now_ms()) do
    if runtime.now_ms() >= deadline then
      return false, runtime.now_ms() - start
    end
    runtime.sleep_ms(STEP_MS)
  end
  return true, runtime.now_ms() - start
end

function hold.action(txn)
  local since = runtime.now_ms()
  last_id = last_id + 1
  -- this request's own id, taken before the wait: other requests count last_id on while it sleeps
  local id = last_id
  local served, waited = hold.wait_until(since + settings.hold_timeout_ms)
  txn:set_var(names.HOLD_ID_VAR, id)
  txn:set_var(names.HELD_MS_VAR, waited)
  txn.http:req_set_header(names.HOLD_HEADER, string.format("%d %d", id, since))
  if not served then
    txn:set_var(names.HOLD_GAVE_UP_VAR, true)
  end
end

function hold.again(txn)
  local id, since = hold.parse_header(txn.sf:req_hdr(names.HOLD_HEADER))
  since = since or runtime.now_ms()
  local deadline = since + settings.hold_timeout_ms
  local _, waited = hold.wait_until(math.min(deadline, runtime.now_ms() + settings.hold_slice_ms))
  if id then
    held_again[id] = (held_again[id] or 0) + waited
  end
  if runtime.now_ms() >= deadline then
    txn:set_var(names.HOLD_GAVE_UP_VAR, true)
  end
end

function hold.agent(txn)
  hold.wait_until(runtime.now_ms() + settings.hold_timeout_ms)
end

function hold.held(txn)
  local id = tonumber(txn:get_var(names.HOLD_ID_VAR) or "")
  local total = tonumber(txn:get_var(names.HELD_MS_VAR) or "") or 0
  if id then
    total = total + (held_again[id] or 0)
    held_again[id] = nil
  end
  txn.http:res_set_header(names.HELD_HEADER, tostring(total))
end

-- Why a request held too long got no master (the body of its 503).
function hold.why()
  local active = state.active
  local detail = active and (active .. " is " .. servers.status(active)) or "no master was elected yet"
  if state.promoting then
    detail = detail .. "; " .. state.promoting .. " is being promoted (" .. state.phase .. ")"
  end
  return string.format(
    "labgen: no Jenkins master could serve this request within %d s (haproxy.hold_timeout_s): %s; last promotion: %s\n",
    settings.hold_timeout_ms // 1000,
    detail,
    state.last
  )
end

return hold
