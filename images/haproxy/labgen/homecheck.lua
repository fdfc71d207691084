-- labgen_homecheck (issue 12): a standby whose JENKINS_HOME does not answer (the NFS server every
-- master shares is dead, paused or cut off) is no standby: with none left the active is kept
-- (DOWN: HAProxy holds requests, then 503) until its home answers again, instead of flip-flopping
-- between masters that all wait for the same NFS. Nor is a standby whose home failed together with
-- the active's within LABGEN_HOLD_MS: once NFS is back the active comes back UP by itself (its
-- checks catch up), a promotion would only add a reload. No LABGEN_HOMECHECK_PORT: not checked.
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local http = require("labgen.http")
local servers = require("labgen.servers")
local builds = require("labgen.builds")

local homecheck = {}

local home_down_at = {} -- when each master was last seen with a home that did not answer

-- The home check agent's answer line says the home answers ("up", or "up 50%" and the like).
function homecheck.says_up(line)
  return type(line) == "string" and line:sub(1, #names.HOMECHECK_UP) == names.HOMECHECK_UP
end

-- Both were seen with a failed home within `hold_ms` of `now`: one NFS outage, not a standby.
function homecheck.shared_outage(down_at, old, name, now, hold_ms)
  local function recent(master)
    return now - (down_at[master] or -hold_ms) < hold_ms
  end
  return recent(old) and recent(name)
end

local function home_answers(name)
  local port = settings.homecheck_port
  local srv = servers.get(name)
  local host = string.match(srv and srv:get_addr() or "", "^(.+):%d+$")
  if not port or not host then
    return port == nil
  end
  local sock = core.tcp()
  sock:settimeout(settings.probe_timeout_ms / 1000)
  local line = sock:connect(host, port) and sock:receive("*l")
  sock:close()
  return homecheck.says_up(line)
end

-- The standby to promote when `old`, the active, is DOWN; nil when there is none.
function homecheck.standby_for(old)
  if servers.down_by_agent(servers.status(old)) then
    home_down_at[old] = runtime.now_ms()
  end
  for _, name in ipairs(settings.masters) do
    if name ~= old and not home_answers(name) then
      home_down_at[name] = runtime.now_ms()
    elseif
      name ~= old
      and not homecheck.shared_outage(home_down_at, old, name, runtime.now_ms(), settings.hold_ms)
      and (http.answers_login(name) or builds.answer_collision(name))
    then
      return name
    end
  end
  return nil
end

return homecheck
