-- The promotion decision (issue 20): which master is active, and the epoch it was promoted in, kept
-- in a stick table synced by haproxy.cfg's `peers` section, so that it outlives this worker: a soft
-- reload hands the table to the new worker (the local peer), and a pair's other load balancer gets
-- it too. One entry per decision, keyed "<epoch, 10 digits><DECISION_SEPARATOR><master>" (HAProxy
-- 2.0's stick tables hold integers and counters, not text, so the text is the key); the newest
-- decision is the entry with the highest epoch. An entry is written only once its master was
-- reloaded and made ready: a recorded decision names a master that is consistent with the home.
local names = require("labgen.names")
local settings = require("labgen.settings").current()

local decision = {}

local SEPARATOR = names.DECISION_SEPARATOR

-- epoch, master -> the table's key (pure).
function decision.key(epoch, master)
  return string.format("%010d%s%s", epoch, SEPARATOR, master)
end

-- key -> epoch, master; nil when it is not a decision's key (pure).
function decision.parse(key)
  if type(key) ~= "string" then
    return nil
  end
  local at = string.find(key, SEPARATOR, 1, true)
  if not at then
    return nil
  end
  local epoch = string.match(key:sub(1, at - 1), "^(%d+)$")
  local master = string.match(key:sub(at + #SEPARATOR), "^([%w_.-]+)$")
  if not epoch or not master then
    return nil
  end
  return tonumber(epoch), master
end

-- The newest decision among a table's keys (a dump: key -> data): epoch, master; nil when none (pure).
-- `known` (optional) keeps only masters it knows.
function decision.newest(entries, known)
  local best_epoch, best_master = nil, nil
  for key in pairs(entries or {}) do
    local epoch, master = decision.parse(key)
    if epoch and (not known or known(master)) and (not best_epoch or epoch > best_epoch) then
      best_epoch, best_master = epoch, master
    end
  end
  return best_epoch, best_master
end

-- What this HAProxy's table holds now (it may be empty: a first start, or peers not synced yet).
function decision.recorded(known)
  local backend = core.backends[names.DECISION_BACKEND]
  local table_ = backend and backend.stktable
  if not table_ then
    return nil
  end
  local ok, entries = pcall(function()
    return table_:dump()
  end)
  if not ok then
    return nil
  end
  return decision.newest(entries, known)
end

-- Record (epoch, master): one request to the loopback listener whose rule tracks the key. True once
-- the table holds it.
function decision.record(epoch, master, timeout_ms)
  local key = decision.key(epoch, master)
  local sock = core.tcp()
  sock:settimeout((timeout_ms or 1000) / 1000)
  local sent = false
  if sock:connect("127.0.0.1", settings.decision_port) then
    sent = sock:send("GET / HTTP/1.0\r\n" .. names.DECISION_HEADER .. ": " .. key .. "\r\n\r\n") ~= nil
    sock:receive("*l")
  end
  sock:close()
  local backend = core.backends[names.DECISION_BACKEND]
  local found = sent and backend and backend.stktable and backend.stktable:lookup(key)
  return found ~= nil and found ~= false
end

-- The recording listener's answer (the key is tracked before the service runs).
function decision.answer(applet)
  local body = "recorded\n"
  applet:set_status(200)
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end

return decision
