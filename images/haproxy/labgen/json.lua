-- JSON through Debian's lua-cjson, with the conventions the promoter relies on: a JSON null reads
-- as nil (a missing field), a whole number as a Lua integer (cjson reads every number as a float,
-- and a queue id must print as 7, not 7.0), and a list is always an array, also when empty.
local cjson = require("cjson")

local json = {}
local RAW = {}

local function without_nulls(value)
  if value == cjson.null then
    return nil
  end
  if math.type(value) == "float" and math.tointeger(value) then
    return math.tointeger(value)
  end
  if type(value) == "table" then
    for key, item in pairs(value) do
      value[key] = without_nulls(item)
    end
  end
  return value
end

-- The value of `text`, or nil and why not.
function json.decode(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    return nil, value
  end
  return without_nulls(value)
end

-- A Lua table as a JSON object; nil as null.
function json.encode(value)
  if value == nil then
    return "null"
  end
  return cjson.encode(value)
end

-- Each record as a JSON object of its `keys`, in that order (absent ones left out): a JSON array.
function json.records(list, keys)
  local out = {}
  for i, record in ipairs(list) do
    local fields = {}
    for _, key in ipairs(keys) do
      if record[key] ~= nil then
        fields[#fields + 1] = { key, record[key] }
      end
    end
    out[i] = json.object(fields).text
  end
  return json.raw("[" .. table.concat(out, ",") .. "]")
end

-- An object of {{key, value}, ...} in that order; a value that is already JSON is wrapped by
-- json.raw (nil is null).
function json.object(fields)
  local parts = {}
  for i, field in ipairs(fields) do
    parts[i] = json.encode(field[1]) .. ":" .. json.text(field[2])
  end
  return json.raw("{" .. table.concat(parts, ",") .. "}")
end

-- Text that is JSON already (json.object and json.records nest without encoding it again).
function json.raw(text)
  return setmetatable({ text = text }, RAW)
end

-- `value` as JSON text.
function json.text(value)
  return getmetatable(value) == RAW and value.text or json.encode(value)
end

json.null = cjson.null

return json
