-- hold.lua's bookkeeping of how long each request was held (the response's HELD_HEADER), with
-- requests held at the same time. HAProxy's clock and sleep are stood in for by a clock this script
-- advances and coroutines it resumes, as HAProxy's scheduler resumes the actions that sleep.
local t = require("harness")
local names = require("labgen.names")

local now = 0
core = { -- luacheck: ignore (HAProxy's global)
  now = function()
    return { sec = now // 1000, usec = (now % 1000) * 1000 }
  end,
  msleep = function(ms)
    coroutine.yield(ms)
  end,
  Info = function() end,
}

local state = require("labgen.state")
local servers = require("labgen.servers")
local hold = require("labgen.hold")
servers.is_up = function(name)
  return name == "jenkins02"
end

local function transaction()
  local txn = { vars = {}, request = {}, response = {} }
  txn.set_var = function(self, key, value)
    self.vars[key] = value
  end
  txn.get_var = function(self, key)
    return self.vars[key]
  end
  txn.http = {
    req_set_header = function(_, key, value)
      txn.request[key] = value
    end,
    res_set_header = function(_, key, value)
      txn.response[key] = value
    end,
  }
  txn.sf = {
    req_hdr = function(_, key)
      return txn.request[key]
    end,
  }
  return txn
end

-- Run `step(txn)` for every transaction at once, 50 ms of the clock per round, until all are done;
-- `serve_at` (ms from now): when the promoter starts serving.
local function run_together(txns, step, serve_at)
  local until_serving = now + serve_at
  state.phase, state.active = "failover", nil
  local running = {}
  for i, txn in ipairs(txns) do
    running[i] = coroutine.create(function()
      step(txn)
    end)
  end
  local left = #running
  while left > 0 do
    left = 0
    for _, co in ipairs(running) do
      if coroutine.status(co) ~= "dead" then
        assert(coroutine.resume(co))
        if coroutine.status(co) ~= "dead" then
          left = left + 1
        end
      end
    end
    now = now + 50
    if now >= until_serving then
      state.phase, state.active = "serving", "jenkins02"
    end
  end
end

t.case("hold: requests held at the same time keep their own ids and their own held time", function()
  local a, b = transaction(), transaction()
  run_together({ a, b }, hold.action, 1000)
  t.equal(a.vars[names.HOLD_ID_VAR] ~= b.vars[names.HOLD_ID_VAR], true, "two requests, two ids")
  t.equal(a.request[names.HOLD_HEADER] ~= b.request[names.HOLD_HEADER], true, "two requests, two headers")
  -- both went to a master that failed at once: each waits in the hold proxy, 500 ms and 1500 ms
  local again_a, again_b = transaction(), transaction()
  again_a.request[names.HOLD_HEADER] = a.request[names.HOLD_HEADER]
  again_b.request[names.HOLD_HEADER] = b.request[names.HOLD_HEADER]
  run_together({ again_a }, hold.again, 500)
  run_together({ again_b }, hold.again, 1500)
  hold.held(a)
  hold.held(b)
  local held_a = tonumber(a.response[names.HELD_HEADER])
  local held_b = tonumber(b.response[names.HELD_HEADER])
  t.equal(held_a >= 1500 and held_a <= 1700, true, "a held about 1.5 s, not " .. held_a)
  t.equal(held_b >= 2500 and held_b <= 2700, true, "b held about 2.5 s, not " .. held_b)
end)

t.done()
