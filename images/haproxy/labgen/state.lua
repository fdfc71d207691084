-- The promoter's state, shared by its tasks, its hold action and its HTTP service (one table per
-- HAProxy process: every module that requires it gets the same one).
local state = {
  active = nil, -- the master that serves, once elected
  phase = "electing", -- electing, serving, failover, switchover, reloading
  promoting = nil, -- the master being promoted, while a promotion runs
  down_since = nil,
  retry_at = 0,
  request = nil, -- a planned switchover's target, until the task takes it
  answer = nil, -- {HTTP status, text}: how the task handled the request
  last = "none", -- the last promotion's result, for `labgen switchover`
  promotions = 0,
  promoted_at = -math.huge, -- when the last promotion finished (now_ms)
  epoch = 0, -- the decision's epoch (decision.lua): one more at every promotion, kept across reloads
  adopted = nil, -- "<master> epoch <n>" when this worker adopted a recorded decision instead of electing
  lease_until = math.huge, -- a pair (lease.lua): serve only before this (now_ms); one HAProxy: always
  claim_seen = nil, -- a pair: {epoch=, since=} of another promoter's claim not ready yet
  failed_claim = nil, -- a pair: an epoch this promoter claimed and could not make ready
  stopping = false, -- an old worker after a soft reload: it finishes its sessions, promotes nothing
}

-- A master may serve: the promoter is done, the active is UP (and, in a pair, the lease holds at `now`).
function state.serving(is_up, now)
  return state.phase == "serving" and state.active ~= nil and is_up(state.active) and (now or 0) < state.lease_until
end

return state
