-- The promoter's settings: read once at load from the environment (haproxy.cfg `setenv`, Compose),
-- with the names and defaults the model declares (names.lua, generated from labgen/model/names.py).
local names = require("labgen.names")

local settings = {}

local TRUE_WORDS = { ["1"] = true, ["true"] = true, yes = true }

-- Every setting from `getenv` (os.getenv in HAProxy; a table lookup in the unit tests).
function settings.read(getenv)
  local found = { masters = {} }
  for name in string.gmatch(getenv(names.MASTERS_ENV) or "", "[^,%s]+") do
    found.masters[#found.masters + 1] = name
  end
  found.backend = getenv(names.HTTP_BACKEND_ENV) or names.HTTP_BACKEND
  found.write_backend = getenv(names.WRITE_BACKEND_ENV)
  found.homecheck_port = tonumber(getenv(names.HOMECHECK_PORT_ENV) or "")
  found.lease_port = tonumber(getenv(names.LEASE_PORT_ENV) or "")
  found.decision_port = tonumber(getenv(names.DECISION_PORT_ENV) or "") or names.DECISION_PORT
  found.requeue_interrupted = TRUE_WORDS[getenv(names.REQUEUE_INTERRUPTED_ENV) or ""] or false
  found.admin_user = getenv(names.ADMIN_USER_ENV) or "admin"
  found.admin_token = getenv(names.ADMIN_TOKEN_ENV) or ""
  for key, timing in pairs(names.timings) do
    found[key] = tonumber(getenv(timing.env) or "") or timing.default
  end
  -- how long POST /labgen/switchover waits for the poll task (labgen.lab.handle waits a bit longer)
  found.switchover_answer_ms = found.reload_timeout_ms + found.drain_timeout_ms + names.SWITCHOVER_MARGIN_MS
  return found
end

-- The settings of this HAProxy process (one table, shared by every module that requires it).
function settings.current()
  if not settings.loaded then
    settings.loaded = settings.read(os.getenv)
  end
  return settings.loaded
end

return settings
