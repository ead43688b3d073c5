-- A table-backed stand-in for ngx.shared.DICT, with the same return values
-- for the calls the edge makes (get returns no flags when they are 0;
-- safe_set fails with "no memory" past capacity; safe_add fails with
-- "exists"; incr creates from init). Expiry times are ignored. Only the unit
-- tests use it; end-to-end tests use real dicts.
local FakeDict = {}
FakeDict.__index = FakeDict

local M = {}

function M.new(capacity)
  return setmetatable({ values = {}, flags = {}, count = 0, capacity = capacity or math.huge }, FakeDict)
end

function FakeDict:get(key)
  local value = self.values[key]
  if value == nil then
    return nil
  end
  local flags = self.flags[key]
  if flags == 0 then
    return value
  end
  return value, flags
end

function FakeDict:safe_set(key, value, _exptime, flags)
  if self.values[key] == nil then
    if self.count >= self.capacity then
      return false, "no memory"
    end
    self.count = self.count + 1
  end
  self.values[key] = value
  self.flags[key] = flags or 0
  return true
end

function FakeDict:safe_add(key, value, exptime, flags)
  if self.values[key] ~= nil then
    return false, "exists"
  end
  return self:safe_set(key, value, exptime, flags)
end

function FakeDict:incr(key, value, init)
  local current = self.values[key]
  if current == nil then
    if init == nil then
      return nil, "not found"
    end
    current = init
    self.count = self.count + 1
    self.flags[key] = 0
  end
  self.values[key] = current + value
  return self.values[key]
end

function FakeDict:delete(key)
  if self.values[key] ~= nil then
    self.count = self.count - 1
  end
  self.values[key] = nil
  self.flags[key] = nil
end

function FakeDict:get_keys(_max)
  local keys = {}
  for key in pairs(self.values) do
    keys[#keys + 1] = key
  end
  table.sort(keys)
  return keys
end

function FakeDict:free_space()
  return 0
end

-- Contents as {key: {value, flags}} for the test to compare.
function FakeDict:dump()
  local out = {}
  for key, value in pairs(self.values) do
    out[key] = { value = value, flags = self.flags[key] }
  end
  return setmetatable(out, nil)
end

return M
