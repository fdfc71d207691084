-- The decision's arbiter for a pair of load balancers (issue 20): epochs claimed on the shared
-- JENKINS_HOME through the masters' home check (labgen_homecheck.lease; one line each way on
-- LABGEN_LEASE_PORT). Off (lease.enabled false) with a single HAProxy: no other promoter exists.
--
-- The rules that make "never two masters ready across the pair" hold whatever the network between
-- the two HAProxy does (no majority is needed: the home, which both masters share, decides):
--  1. A promoter claims epoch E+1 for a master before it reloads it; only one claim of an epoch
--     succeeds (a hard link on the NFS server). A promoter that loses the claim follows the winner.
--  2. It makes the master ready no sooner than LABGEN_LEASE_MS after its claim was answered, and only
--     after the home confirmed (`ready`) that its epoch is still the newest.
--  3. A serving promoter asks the home every poll; it serves (requests pass the hold, the master is
--     not in MAINT) only until LABGEN_LEASE_MS after the last answer that named its own epoch, sent
--     before that answer. An answer naming a newer epoch makes it drop its master at once.
-- A promoter that lost its lease when another one claimed has therefore stopped (by its own clock)
-- before the claimer's master may serve (by the claimer's clock): both measure durations, not time
-- of day, so only their clock rates must agree. A frozen promoter cannot serve when it thaws: its
-- lease ran out while it was frozen, and its next answer from the home tells it what happened.
local settings = require("labgen.settings").current()
local runtime = require("labgen.runtime")
local servers = require("labgen.servers")

local lease = { enabled = settings.lease_port ~= nil }

-- "decision|ok|taken <epoch> <master> <state> <renewals>" -> {verdict=, epoch=, master=, state=,
-- renewals=}; nil otherwise (pure).
function lease.parse(line)
  local verdict, epoch, master, state, renewals = string.match(line or "", "^(%a+) (%d+) (%S+) (%a+) (%d+)$")
  if verdict ~= "decision" and verdict ~= "ok" and verdict ~= "taken" then
    return nil
  end
  return { verdict = verdict, epoch = tonumber(epoch), master = master, state = state, renewals = tonumber(renewals) }
end

-- One request to master `name`'s arbiter; the parsed answer or nil.
function lease.ask(name, line)
  local srv = servers.get(name)
  local host = string.match(srv and srv:get_addr() or "", "^(.+):%d+$")
  if not host or not settings.lease_port then
    return nil
  end
  local sock = core.tcp()
  sock:settimeout(settings.probe_timeout_ms / 1000)
  local answer = nil
  if sock:connect(host, settings.lease_port) then
    sock:send(line .. "\n")
    answer = sock:receive("*l")
  end
  sock:close()
  return lease.parse(answer)
end

-- Ask `first` (when given), then every other master: the first answer (the home is the same).
local function ask_any(line, first)
  local order = { first }
  for _, name in ipairs(settings.masters) do
    if name ~= first then
      order[#order + 1] = name
    end
  end
  for _, name in ipairs(order) do
    local answer = lease.ask(name, line)
    if answer then
      return answer
    end
  end
  return nil
end

function lease.read(first)
  return ask_any("read", first)
end

function lease.claim(epoch, master)
  local answer = ask_any(string.format("claim %d %s", epoch, master), master)
  if answer then
    runtime.log("lease.claim", { { "epoch", epoch }, { "master", master }, { "answer", answer.verdict } })
  end
  return answer
end

function lease.renew(epoch, master, count)
  return ask_any(string.format("renew %d %s %d", epoch, master, count), master)
end

-- Another promoter's claim (`newest`, not ready) is abandoned: its renewals have not changed for
-- LABGEN_CLAIM_STALE_MS by this promoter's clock. `seen` keeps what was seen, and since when (pure).
function lease.abandoned(seen, newest, now, stale_ms)
  if seen.epoch ~= newest.epoch or seen.renewals ~= newest.renewals then
    seen.epoch, seen.renewals, seen.since = newest.epoch, newest.renewals, now
  end
  return now - seen.since > stale_ms
end

function lease.ready(epoch, master)
  return ask_any(string.format("ready %d %s", epoch, master), master)
end

-- The answer names `epoch` and `master` as the newest decision.
function lease.names(answer, epoch, master)
  return answer ~= nil and answer.epoch == epoch and answer.master == master
end

return lease
