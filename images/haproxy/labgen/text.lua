-- Pure text helpers: base64 (HTTP basic auth), URL encoding, Jenkins' parameter lines.
local text = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function text.base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    for k = 0, 3 do
      if k <= 1 or (k == 2 and b) or (k == 3 and c) then
        local index = ((n >> (18 - 6 * k)) & 63) + 1
        out[#out + 1] = B64:sub(index, index)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

function text.url_encode(value)
  return (string.gsub(value, "[^%w%-_.~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

function text.url_decode(value)
  return (string.gsub(value, "%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

-- "\nA=1\nB=2" (Queue.Item.getParams) -> {{"A","1"},{"B","2"}}
function text.parse_params(value)
  local found = {}
  for line in string.gmatch(value or "", "[^\n]+") do
    local key, val = string.match(line, "^([^=]+)=(.*)$")
    if key then
      found[#found + 1] = { key, val }
    end
  end
  return found
end

function text.same_params(a, b)
  if #a ~= #b then
    return false
  end
  for i = 1, #a do
    if a[i][1] ~= b[i][1] or a[i][2] ~= b[i][2] then
      return false
    end
  end
  return true
end

return text
