"""labgen controller: automatic promotion of a standby Jenkins master behind HAProxy.

A Jenkins master keeps its jobs in memory and reads JENKINS_HOME from disk only at start
and on ``POST /reload``, so a standby on the shared JENKINS_HOME is stale. This controller
makes sure a stale master never serves:

1. Exactly one master serves: the *active*. Every other master (a *standby*) is held in
   ``maint`` in HAProxy, even the ``backup`` one. This is re-asserted on every poll (HAProxy
   may have restarted and re-read its config). The active comes from the state file, else
   it is the first master of LABGEN_MASTERS that HAProxy reports UP (only the very first one
   during LABGEN_ELECT_GRACE_S after the start, so that a fresh lab always starts on it).
2. When HAProxy reports the active DOWN (its status starts with DOWN, or its address no
   longer resolves), the controller fails over to the first standby whose ``GET /login``
   answers 200: old active to ``maint``, ``POST /reload`` on the new one, wait until its
   ``GET /api/json`` answers 200 after the reload (after a 503, or after a quiet period
   when no 503 was seen), ``clear table`` on every stick table that routes to the masters,
   then ``set server <backend>/<new> state ready``, and record the new active in the state
   file. The controller's own probe of the active only makes it poll faster: HAProxy decides.
3. A master that comes back stays in ``maint`` as a standby (no flapping back); it is
   reloaded by rule 2 before it ever serves again.

Usage: ``python3 -m labgen_controller [run]`` (the daemon) or ``python3 -m labgen_controller
promote NAME`` (one-shot manual switchover to NAME, exit 0 on success, 1 on failure, 2 on bad
usage). Python 3.11 standard library only, plus ``labgen.wire`` (itself standard library only).

Modules: ``settings`` (the environment), ``haproxy`` (runtime API and its view of the masters),
``jenkins`` (the masters' HTTP API, reload wait, background probes), ``state`` (state file and
its lock), ``decisions`` (the rules above, without I/O), ``controller`` (the loop that executes
them), ``events`` (the JSON lines below), ``__main__`` (the command line).

Environment
-----------
LABGEN_MASTERS               comma list of HAProxy server names, in order of preference (required)
LABGEN_HAPROXY_SOCKET        runtime API unix socket (default /var/run/haproxy/admin.sock)
LABGEN_HAPROXY_ADDR          host:port of a TCP runtime API socket (wins over the unix socket)
LABGEN_HTTP_BACKEND          HAProxy backend of the masters (default jenkins)
LABGEN_MASTER_URL_TEMPLATE   direct URL of a master (default http://{name}:8080)
LABGEN_MASTER_URLS           JSON map name -> URL, overrides the template per master
JENKINS_ADMIN_USER           admin user (default admin)
JENKINS_ADMIN_TOKEN          its API token (basic auth; no crumb needed)
LABGEN_POLL_MS               poll period (default 200)
LABGEN_STATE_FILE            where the active is recorded (default /var/run/haproxy/controller-state.json);
                             ``<state file>.lock`` serialises the daemon and ``promote``
LABGEN_SERVER_STATE_FILE     where ``show servers state`` is saved after every change, for HAProxy's
                             ``server-state-file`` (default /var/run/haproxy/server-state; empty: off)
LABGEN_RELOAD_TIMEOUT_S      how long a reload may take (default 120)
LABGEN_RELOAD_QUIET_S        200s without any 503 for this long after the POST also mean reloaded (default 2)
LABGEN_PROBE_TIMEOUT_S       timeout of the controller's own HTTP probes (default 1)
LABGEN_UP_TIMEOUT_S          how long to wait for HAProxy to report the new active UP (default 10)
LABGEN_ELECT_GRACE_S         with no state file, how long only the first master may become the active;
                             after that, the first master HAProxy reports UP (default 120; 0: at once)

Events
------
One JSON object per line on stdout, each with ``ts`` (wall clock, float seconds since the
epoch) and ``event``. Names and fields are stable (labgen verify parses them):

controller.start  masters, backend, haproxy, state_file, poll_ms, command ("run" or "promote")
controller.stop   reason
active.elect      name, source ("state-file" or "haproxy"): the active the controller enforces
state.assert      set ({server: "ready"|"maint"}), active, cleared (stick tables cleared)
active.suspect    name, detail: the direct probe of the active failed (HAProxy still decides)
active.down       name, status, check_status, since_s (seconds since HAProxy's last status change)
active.back       name, seconds: the active came back before any failover happened
failover.start    from, to, reason ("down" or "promote")
reload.sent       name, status (HTTP status of POST /reload; null when no answer came)
reload.done       name, seconds (since reload.sent), saw_503
failover.done     from, to, reason, seconds (since active.down; since failover.start for promote), tables
standby.down      name, detail: a standby does not answer the controller's probe (first seen so, or no more)
standby.back      name: a standby answers again after standby.down or a failover (it stays in maint)
error             what, detail (plus context fields); the same error is logged at most once per 10 s
                  (with ``repeated``: how many were left out). what: usage, runtime-api, elect, no-standby,
                  failover, assert, promote, state-file, server-state-file, loop
"""
