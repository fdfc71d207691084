-- A minimal test harness for the promoter's pure modules, run by test_promoter_lua.py with a plain
-- Lua 5.3 (HAProxy's version): each `case` runs; a failure prints "FAIL name: why"; the script
-- exits 1 when any failed, and prints "ok N" for each case that passed.
local harness = { failed = 0, passed = 0 }

function harness.case(name, fn)
  local ok, err = pcall(fn)
  if ok then
    harness.passed = harness.passed + 1
    print("ok " .. name)
  else
    harness.failed = harness.failed + 1
    print("FAIL " .. name .. ": " .. tostring(err))
  end
end

local function show(value)
  if type(value) == "string" then
    return string.format("%q", value)
  end
  return tostring(value)
end

function harness.equal(got, want, what)
  if got ~= want then
    error((what or "value") .. ": got " .. show(got) .. ", want " .. show(want), 2)
  end
end

function harness.same(got, want, what)
  local function deep(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then
      return a == b and math.type(a) == math.type(b)
    end
    for k, v in pairs(a) do
      if not deep(v, b[k]) then
        return false
      end
    end
    for k in pairs(b) do
      if a[k] == nil then
        return false
      end
    end
    return true
  end
  if not deep(got, want) then
    error((what or "value") .. " differs", 2)
  end
end

function harness.done()
  print(string.format("%d passed, %d failed", harness.passed, harness.failed))
  os.exit(harness.failed == 0 and 0 or 1)
end

return harness
