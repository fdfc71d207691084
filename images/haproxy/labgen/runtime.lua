-- What every module needs from HAProxy itself: the clock, the log, sleeping.
local names = require("labgen.names")

local runtime = {}

function runtime.now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec // 1000
end

function runtime.sleep_ms(ms)
  core.msleep(ms)
end

-- One line in HAProxy's log: "labgen-promoter: EVENT key=value ..." (fields: {{key, value}, ...}).
function runtime.log(event, fields)
  local parts = { names.PROMOTER_LOG_PREFIX .. event }
  for _, key in ipairs(fields or {}) do
    parts[#parts + 1] = key[1] .. "=" .. tostring(key[2])
  end
  core.Info(table.concat(parts, " "))
end

return runtime
