-- The promoter's pure parts: settings, text, json, http parsing, what the Jenkins API answers mean.
local t = require("harness")
local names = require("labgen.names")
local settings = require("labgen.settings")
local text = require("labgen.text")
local json = require("labgen.json")
local http = require("labgen.http")
local builds = require("labgen.builds")
local homecheck = require("labgen.homecheck")
local hold = require("labgen.hold")

local function env(values)
  return function(name)
    return values[name]
  end
end

t.case("settings: defaults from names.lua", function()
  local s = settings.read(env({}))
  t.same(s.masters, {})
  t.equal(s.backend, names.HTTP_BACKEND)
  t.equal(s.write_backend, nil)
  t.equal(s.homecheck_port, nil)
  t.equal(s.requeue_interrupted, false)
  t.equal(s.admin_user, "admin")
  t.equal(s.reload_timeout_ms, names.timings.reload_timeout_ms.default)
  t.equal(s.switchover_answer_ms, s.reload_timeout_ms + s.drain_timeout_ms + names.SWITCHOVER_MARGIN_MS)
end)

t.case("settings: read from the environment", function()
  local s = settings.read(env({
    [names.MASTERS_ENV] = "jenkins01, jenkins02,jenkins03",
    [names.HOMECHECK_PORT_ENV] = "8199",
    [names.REQUEUE_INTERRUPTED_ENV] = "1",
    [names.timings.hold_ms.env] = "60000",
    [names.timings.poll_ms.env] = "not a number",
  }))
  t.same(s.masters, { "jenkins01", "jenkins02", "jenkins03" })
  t.equal(s.homecheck_port, 8199)
  t.equal(s.requeue_interrupted, true)
  t.equal(s.hold_ms, 60000)
  t.equal(s.poll_ms, names.timings.poll_ms.default, "a bad number falls back to the default")
end)

t.case("text: base64 of every padding", function()
  t.equal(text.base64(""), "")
  t.equal(text.base64("a"), "YQ==")
  t.equal(text.base64("ab"), "YWI=")
  t.equal(text.base64("abc"), "YWJj")
  t.equal(text.base64("admin:11aa"), "YWRtaW46MTFhYQ==")
end)

t.case("text: URL encoding round trip", function()
  t.equal(text.url_encode("a b/c~d_e.f-g"), "a%20b%2Fc~d_e.f-g")
  t.equal(text.url_decode("job%20one%2F2"), "job one/2")
  t.equal(text.url_decode(text.url_encode("ü & ?=")), "ü & ?=")
end)

t.case("text: Jenkins parameter lines", function()
  t.same(text.parse_params("\nA=1\nB=x=y\nnot a param"), { { "A", "1" }, { "B", "x=y" } })
  t.same(text.parse_params(nil), {})
  t.equal(text.same_params({ { "A", "1" } }, { { "A", "1" } }), true)
  t.equal(text.same_params({ { "A", "1" } }, { { "A", "2" } }), false)
  t.equal(text.same_params({}, { { "A", "1" } }), false)
end)

t.case("json: null is nil, whole numbers are integers", function()
  local value = json.decode('{"items":[{"id":7,"task":{"name":"a"},"params":null}],"x":1.5,"big":1764752400123}')
  t.equal(value.items[1].id, 7)
  t.equal(math.type(value.items[1].id), "integer")
  t.equal(tostring(value.items[1].id), "7")
  t.equal(value.items[1].params, nil)
  t.equal(value.x, 1.5)
  t.equal(value.big, 1764752400123)
  t.equal(math.type(value.big), "integer")
end)

t.case("json: bad input is nil and why", function()
  local value, why = json.decode("{not json")
  t.equal(value, nil)
  t.equal(type(why), "string")
end)

t.case("json: objects keep their order, lists stay arrays", function()
  local object = json.object({ { "b", 1 }, { "a", "x\"y" }, { "n", nil }, { "l", json.records({}, { "k" }) } })
  t.equal(object.text, '{"b":1,"a":"x\\"y","n":null,"l":[]}')
  local records = json.records({ { job = "j", item = 3, ok = true, extra = 1 }, { job = "k" } }, { "job", "item", "ok" })
  t.equal(records.text, '[{"job":"j","item":3,"ok":true},{"job":"k"}]')
  local back = json.decode(json.object({ { "path", "/job/a/" }, { "s", "tab\there" } }).text)
  t.equal(back.path, "/job/a/")
  t.equal(back.s, "tab\there")
end)

t.case("http: addresses", function()
  local host, port = http.address("10.0.0.5:8080")
  t.equal(host, "10.0.0.5")
  t.equal(port, 8080)
  t.equal(http.address("0.0.0.0:8080"), nil)
  t.equal(http.address(""), nil)
  t.equal(http.address(nil), nil)
end)

t.case("http: request text", function()
  t.equal(http.request_text("jenkins01", "GET", names.LOGIN_PATH, nil), "GET /login HTTP/1.0\r\nHost: jenkins01\r\nConnection: close\r\n\r\n")
  local post = http.request_text("j", "POST", "/reload", "QUJD")
  t.equal(post, "POST /reload HTTP/1.0\r\nHost: j\r\nConnection: close\r\nAuthorization: Basic QUJD\r\nContent-Length: 0\r\n\r\n")
end)

t.case("http: answers parsed", function()
  local code, head, body = http.parse("HTTP/1.1 201 Created\r\nLocation: http://x/queue/item/12/\r\n\r\nbody")
  t.equal(code, 201)
  t.equal(head, "HTTP/1.1 201 Created\r\nLocation: http://x/queue/item/12/\r")
  t.equal(body, "body")
  t.equal(http.parse("HTTP/1.0 200 OK"), 200)
  t.equal(http.parse("garbage"), nil)
  t.equal(http.parse(nil), nil)
end)

t.case("builds: the collision page", function()
  t.equal(builds.is_collision_page(500, "<p>more than one instance of Jenkins</p>"), true)
  t.equal(builds.is_collision_page(500, "other error"), false)
  t.equal(builds.is_collision_page(200, "more than one instance of Jenkins"), false)
end)

t.case("builds: queue and executors read", function()
  local queue = json.decode('{"items":[{"id":4,"params":"\\nP=1","task":{"name":"a"}},{"id":5,"task":{}}]}')
  t.same(builds.queued_items(queue), { { job = "a", params = { { "P", "1" } }, id = 4 } })
  local computers = json.decode([[{"computer":[{"executors":[
    {"currentExecutable":{"number":3,"url":"http://h/job/my%20job/3/","actions":[{},{"parameters":[{"name":"P","value":2},{"name":"Q","value":null}]}]}},
    {"currentExecutable":null},
    {"currentExecutable":{"number":1,"url":"http://h/queue/x"}}]}]}]])
  t.same(builds.running_builds(computers), { { job = "my job", number = 3, params = { { "P", "2" }, { "Q", "" } } } })
end)

t.case("builds: the path that posts a build again", function()
  t.equal(builds.build_path({ job = "a b", params = {} }, "jenkins01"), "/job/a%20b/build?delay=0sec&cause=re-queued%20by%20labgen%20after%20jenkins01%20failed")
  local path = builds.build_path({ job = "p", params = { { "X", "1 2" } } }, "j")
  t.equal(path, "/job/p/buildWithParameters?delay=0sec&cause=re-queued%20by%20labgen%20after%20j%20failed&X=1%202")
end)

t.case("builds: already queued", function()
  local present = { items = { { task = { name = "a" }, params = "\nX=1" } } }
  t.equal(builds.already_queued(present, { job = "a", params = { { "X", "1" } } }), true)
  t.equal(builds.already_queued(present, { job = "a", params = {} }), false)
  t.equal(builds.already_queued({}, { job = "a", params = {} }), false)
end)

t.case("builds: the state report", function()
  builds.remember(builds.requeued, { job = "a", kind = "queued", from = "j1", to = "j2", item = 9, at = 1, why = "" })
  local report = json.decode(builds.report(true).text)
  t.equal(report.requeue_interrupted, true)
  t.equal(report.watched, nil)
  t.equal(report.queued, 0)
  t.equal(report.requeued[1].item, 9)
  t.same(report.interrupted, {})
  for i = 1, 60 do
    builds.remember(builds.collisions, { master = "j" .. i, at = i, ok = true })
  end
  t.equal(#builds.collisions, 50, "only the last 50 records are kept")
  t.equal(builds.collisions[1].master, "j11")
end)

t.case("homecheck: the agent's answer", function()
  t.equal(homecheck.says_up("up"), true)
  t.equal(homecheck.says_up("up 100%"), true)
  t.equal(homecheck.says_up("down #nfs"), false)
  t.equal(homecheck.says_up(nil), false)
  t.equal(homecheck.says_up(false), false)
end)

t.case("homecheck: one outage, not a standby", function()
  local down_at = { j1 = 1000, j2 = 1500 }
  t.equal(homecheck.shared_outage(down_at, "j1", "j2", 2000, 15000), true)
  t.equal(homecheck.shared_outage(down_at, "j1", "j2", 17000, 15000), false)
  t.equal(homecheck.shared_outage(down_at, "j1", "j3", 2000, 15000), false)
  t.equal(homecheck.shared_outage({}, "j1", "j2", 0, 15000), false)
end)

t.case("hold: the header the frontend gives a held request", function()
  local id, since = hold.parse_header("17 1764752400123")
  t.equal(id, 17)
  t.equal(since, 1764752400123)
  t.equal(hold.parse_header(nil), nil)
  t.equal(hold.parse_header("17"), nil)
  t.equal(hold.parse_header("x 1"), nil)
end)

t.case("settings: the hold's bound and slice", function()
  local s = settings.read(env({ [names.timings.hold_timeout_ms.env] = "60000" }))
  t.equal(s.hold_timeout_ms, 60000)
  t.equal(s.hold_slice_ms, names.timings.hold_slice_ms.default)
end)

t.done()
