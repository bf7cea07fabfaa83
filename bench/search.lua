-- search.lua - the observations of one patient (reference + token), like a
-- doctor's "results of this patient" view: GET /fhir/Observation?subject=
-- Patient/bench-N&code=http://loinc.org|2345-7 for a random patient N.
-- PATIENTS comes from the environment (default 100,000: bench-data makes
-- COUNT/10 patients).
local patients = tonumber(os.getenv("PATIENTS") or "100000")
local counter = 0

function setup(thread)
  thread:set("seed", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + seed * 7919)
end

function request()
  return wrk.format("GET", "/fhir/Observation?subject=Patient/bench-" ..
    math.random(1, patients) .. "&code=http://loinc.org%7C2345-7")
end

function response(status, headers, body)
  if status ~= 200 then
    error("unexpected status " .. status)
  end
end
