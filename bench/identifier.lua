-- identifier.lua - token search by identifier, as a registration desk does:
-- GET /fhir/Patient?identifier=<resident-id system>|<id of patient N> for a
-- random N of the province data set (bench/province.mjs makes the ids).
local patients = tonumber(os.getenv("PATIENTS") or "100000")
local counter = 0

function setup(thread)
  thread:set("seed", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + seed * 7919)
end

local function resident_id(n)
  return string.format("41%010d%06d", n, (n * 7919) % 1000000)
end

function request()
  return wrk.format("GET", "/fhir/Patient?identifier=https://fhir.yujian.org.cn/sid/cn-resident-id%7C" ..
    resident_id(math.random(1, patients)))
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"total":1', 1, true) then
    error("unexpected answer " .. status .. " " .. body:sub(1, 200))
  end
end
