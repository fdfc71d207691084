-- A small HTTP/1.0 client for the promoter's requests straight to a master (its address as
-- HAProxy resolved it), and the parsing of its answers (pure, unit-tested).
local names = require("labgen.names")
local settings = require("labgen.settings").current()
local text = require("labgen.text")
local json = require("labgen.json")

local http = {}

local AUTH = text.base64(settings.admin_user .. ":" .. settings.admin_token)

-- "host:port" -> host, port; nil for no address or an unspecified one.
function http.address(addr)
  local host, port = string.match(addr or "", "^(.+):(%d+)$")
  if not host or host == "0.0.0.0" or host == "::" then
    return nil
  end
  return host, tonumber(port)
end

function http.request_text(host, method, path, auth)
  local request = method .. " " .. path .. " HTTP/1.0\r\nHost: " .. host .. "\r\nConnection: close\r\n"
  if auth then
    request = request .. "Authorization: Basic " .. auth .. "\r\n"
  end
  if method == "POST" then
    request = request .. "Content-Length: 0\r\n"
  end
  return request .. "\r\n"
end

-- An answer -> its status code, its head and its body (nil when it is no HTTP answer).
function http.parse(answer)
  local code = answer and tonumber(string.match(answer, "^HTTP/%d%.%d (%d%d%d)"))
  if not code then
    return nil
  end
  local head_end = string.find(answer, "\r\n\r\n", 1, true)
  return code, answer:sub(1, head_end or #answer), head_end and answer:sub(head_end + 4) or ""
end

-- One request to master `name`: the status code, the head and (when `want_body`) the body; or nil
-- and why not.
function http.fetch(name, method, path, auth, want_body)
  local srv = require("labgen.servers").get(name)
  if not srv then
    return nil, "no such server"
  end
  local host, port = http.address(srv:get_addr())
  if not host then
    return nil, "no address"
  end
  local sock = core.tcp()
  sock:settimeout(settings.probe_timeout_ms / 1000)
  if not sock:connect(host, port) then
    sock:close()
    return nil, "connect failed"
  end
  sock:send(http.request_text(name, method, path, auth and AUTH))
  local answer = want_body and sock:receive("*a") or sock:receive("*l")
  sock:close()
  local code, head, body = http.parse(answer)
  if not code then
    return nil, "no answer"
  end
  if not want_body then
    return code
  end
  return code, head, body
end

function http.call(name, method, path, auth)
  return http.fetch(name, method, path, auth, false)
end

function http.answers_login(name)
  return http.call(name, "GET", names.LOGIN_PATH, false) == 200
end

function http.get_json(name, path)
  local code, _, body = http.fetch(name, "GET", path, true, true)
  if code ~= 200 then
    return nil
  end
  local data = json.decode(body)
  return type(data) == "table" and data or nil
end

return http
