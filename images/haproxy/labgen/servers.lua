-- The masters as HAProxy's HTTP backend sees them: state, sessions, MAINT.
local settings = require("labgen.settings").current()

local servers = {}

function servers.get(name)
  local backend = core.backends[settings.backend]
  return backend and backend.servers[name]
end

function servers.status(name)
  local srv = servers.get(name)
  if not srv then
    return "UNKNOWN"
  end
  return srv:get_stats()["status"] or "UNKNOWN"
end

function servers.is_up(name)
  return name ~= nil and servers.status(name):sub(1, 2) == "UP"
end

function servers.is_down(name)
  return servers.status(name):sub(1, 4) == "DOWN"
end

function servers.sessions(name)
  local srv = servers.get(name)
  return srv and tonumber(srv:get_stats()["scur"]) or 0
end

function servers.is_maint(name)
  return servers.status(name):sub(1, 5) == "MAINT"
end

function servers.set_maint(name)
  if not servers.is_maint(name) then
    servers.get(name):set_maint()
  end
end

-- The agent check (labgen_homecheck) took it down, not the HTTP check.
function servers.down_by_agent(seen)
  return string.find(seen, "agent", 1, true) ~= nil
end

function servers.is_master(name)
  for _, master in ipairs(settings.masters) do
    if master == name then
      return true
    end
  end
  return false
end

return servers
