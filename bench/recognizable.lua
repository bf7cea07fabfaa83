-- recognizable.lua - a doctor about to order three tests asks for the
-- patient's recognisable prior results, finding the patient by the resident
-- id card (bench/province.mjs makes the ids):
-- GET /fhir/Patient/$recognizable?identifier=..&code=..&organization=..
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
  return wrk.format("GET", "/fhir/Patient/$recognizable?identifier=https://fhir.yujian.org.cn/sid/cn-resident-id%7C" ..
    resident_id(math.random(1, patients)) ..
    "&code=http://loinc.org%7C2345-7,http://loinc.org%7C718-7,http://loinc.org%7C2160-0" ..
    "&organization=Organization/org-zzu1")
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"name":"item"', 1, true) then
    error("unexpected answer " .. status .. " " .. body:sub(1, 200))
  end
end
