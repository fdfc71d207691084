-- Issue 20's pure parts: the decision's stick-table keys (decision.lua), the arbiter's answers
-- (lease.lua), and the state's lease rule.
local t = require("harness")
local names = require("labgen.names")
local decision = require("labgen.decision")
local lease = require("labgen.lease")
local state = require("labgen.state")
local settings = require("labgen.settings")

t.case("decision: a key is the epoch, 10 digits, and the master", function()
  local key = decision.key(7, "jenkins02")
  t.equal(key, "0000000007" .. names.DECISION_SEPARATOR .. "jenkins02")
  local epoch, master = decision.parse(key)
  t.equal(epoch, 7)
  t.equal(master, "jenkins02")
end)

t.case("decision: keys that are no decision's", function()
  for _, bad in ipairs({ "", "jenkins01", "x" .. names.DECISION_SEPARATOR .. "jenkins01", "0000000001" .. names.DECISION_SEPARATOR, "1" .. names.DECISION_SEPARATOR .. "a b" }) do
    t.equal(decision.parse(bad), nil, bad)
  end
  t.equal(decision.parse(nil), nil)
  t.equal(decision.parse(12), nil)
end)

t.case("decision: the newest is the highest epoch, whatever the table's order", function()
  local entries = {
    [decision.key(2, "jenkins02")] = {},
    [decision.key(10, "jenkins01")] = {},
    [decision.key(9, "jenkins02")] = {},
    ["noise"] = {},
  }
  local epoch, master = decision.newest(entries)
  t.equal(epoch, 10)
  t.equal(master, "jenkins01")
  local known = function(name)
    return name == "jenkins02"
  end
  epoch, master = decision.newest(entries, known)
  t.equal(epoch, 9)
  t.equal(master, "jenkins02")
  t.equal(decision.newest({}), nil)
  t.equal(decision.newest(nil), nil)
end)

t.case("lease: the arbiter's answers", function()
  local none = { verdict = "decision", epoch = 0, master = "-", state = "none", renewals = 0 }
  t.same(lease.parse("decision 0 - none 0"), none)
  local ok = { verdict = "ok", epoch = 3, master = "jenkins02", state = "claimed", renewals = 2 }
  t.same(lease.parse("ok 3 jenkins02 claimed 2"), ok)
  local taken = { verdict = "taken", epoch = 4, master = "jenkins01", state = "ready", renewals = 0 }
  t.same(lease.parse("taken 4 jenkins01 ready 0"), taken)
  local bad_lines = { "", "error bad request", "error JENKINS_HOME: Stale file handle", "ok x jenkins01 ready 0" }
  bad_lines[#bad_lines + 1] = "ok 1 jenkins01 ready"
  for _, bad in ipairs(bad_lines) do
    t.equal(lease.parse(bad), nil, bad)
  end
  t.equal(lease.parse(nil), nil)
end)

t.case("lease: names() is the newest epoch and master", function()
  local answer = lease.parse("decision 5 jenkins01 ready 0")
  t.equal(lease.names(answer, 5, "jenkins01"), true)
  t.equal(lease.names(answer, 4, "jenkins01"), false)
  t.equal(lease.names(answer, 5, "jenkins02"), false)
  t.equal(lease.names(nil, 5, "jenkins01"), false)
end)

t.case("lease: off without a lease port; on with one", function()
  t.equal(lease.enabled, false)
  local s = settings.read(function(name)
    return ({ [names.LEASE_PORT_ENV] = "8198" })[name]
  end)
  t.equal(s.lease_port, 8198)
  t.equal(s.lease_ms, names.timings.lease_ms.default)
  t.equal(s.decision_port, names.DECISION_PORT)
end)

t.case("lease: a claim is abandoned when its renewals stop changing for the stale time", function()
  local seen = {}
  local claim = { epoch = 4, renewals = 0 }
  t.equal(lease.abandoned(seen, claim, 1000, 3000), false)
  t.equal(lease.abandoned(seen, claim, 3999, 3000), false)
  claim.renewals = 1 -- renewed: the clock starts again
  t.equal(lease.abandoned(seen, claim, 3999, 3000), false)
  t.equal(lease.abandoned(seen, claim, 6999, 3000), false)
  t.equal(lease.abandoned(seen, claim, 7000, 3000), true)
  t.equal(lease.abandoned(seen, { epoch = 5, renewals = 1 }, 7001, 3000), false) -- another claim
end)

t.case("state: a pair serves only before its lease runs out", function()
  local up = function()
    return true
  end
  state.phase, state.active = "serving", "jenkins01"
  t.equal(state.serving(up, 5), true) -- one HAProxy: no lease (forever)
  state.lease_until = 100
  t.equal(state.serving(up, 99), true)
  t.equal(state.serving(up, 100), false)
  state.lease_until = -math.huge -- claiming: nothing served
  t.equal(state.serving(up, 0), false)
  state.lease_until = math.huge
  state.phase = "reloading"
  t.equal(state.serving(up, 0), false)
end)

t.done()
