-- find_bed.lua - an admission clerk asks for the ranked free beds of a planned encounter in
-- the 5,000-bed hospital of bench/inpatient_seed.mjs:
-- GET /fhir/Location/$find-bed?encounter=Encounter/fb-N
local counter = 0

function setup(thread)
  thread:set("seed", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + seed * 7919)
end

function request()
  return wrk.format("GET", "/fhir/Location/$find-bed?encounter=Encounter/fb-" .. math.random(0, 999))
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"name":"candidate"', 1, true) then
    error("unexpected answer " .. status .. " " .. body:sub(1, 200))
  end
end
