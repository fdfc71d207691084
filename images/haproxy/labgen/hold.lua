-- `http-request lua.labgen_hold` (writes, in haproxy.cfg): while no master may serve (the promoter
-- elects, fails over or switches over, or the active is not UP), wait here, up to LABGEN_HOLD_MS,
-- instead of reaching the hold server. A write must not be retried once sent, and HAProxy 2.0.0
-- does not retry a request with a body after the hold server's 503: waiting before a server is
-- picked needs no retry at all.
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local servers = require("labgen.servers")
local state = require("labgen.state")

local hold = {}

function hold.action()
  local start = runtime.now_ms()
  while runtime.now_ms() - start < settings.hold_ms do
    if state.serving(servers.is_up) then
      return
    end
    runtime.sleep_ms(50)
  end
end

return hold
