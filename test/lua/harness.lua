-- Runs functions of the generated Lua under plain LuaJIT for the unit tests.
--   luajit harness.lua <build/lua dir>  < request.json  > results.json
-- request: {"module": "set_backend.host", "routesCapacity": n?,
--           "calls": [{"fn": "normalizeHost", "args": ["A.com", false]}, ...]}
-- A call may name another "module" than the request's.
-- An argument "$routes" or "$meta" stands for a table-backed shared dict
-- (fake_dict.lua); the same two dicts serve every call of a request.
-- Each result is {"value": first return, "second": second return, "third":
-- third return (only when not nil)} or {"raised": message}; "dicts" holds
-- both dicts' contents at the end.
local build_dir, here = arg[1], arg[0]:match("^(.*)/[^/]*$") or "."
package.path = build_dir .. "/?.lua;" .. here .. "/?.lua;" .. package.path

local cjson = require("cjson.safe")
local fake_dict = require("fake_dict")

local request = assert(cjson.decode(io.read("*a")), "request is not JSON")
local default_module = request.module
local dicts = {
  ["$routes"] = fake_dict.new(request.routesCapacity),
  ["$meta"] = fake_dict.new(),
}

local function to_json_value(value)
  if value == nil then
    return cjson.null
  end
  return value
end

local results = {}
for index, call in ipairs(request.calls) do
  local module_name = call.module or default_module
  local fn = require(module_name)[call.fn]
  if fn == nil then
    error("module " .. module_name .. " has no function " .. call.fn)
  end
  local args = {}
  for i, arg_value in ipairs(call.args) do
    args[i] = dicts[arg_value] or arg_value
  end
  local ok, first, second, third = pcall(fn, unpack(args, 1, #call.args))
  if ok then
    results[index] = { value = to_json_value(first), second = to_json_value(second), third = third }
  else
    results[index] = { raised = tostring(first) }
  end
end

io.write(assert(cjson.encode({
  results = results,
  dicts = { routes = dicts["$routes"]:dump(), meta = dicts["$meta"]:dump() },
})))
