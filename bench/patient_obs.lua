-- patient_obs.lua - the results of one patient, as a doctor's view asks:
-- GET /fhir/Observation?subject=Patient/<id>&code=http://loinc.org|2345-7
-- &date=ge2023-06-01 for a random patient. The ids (server-assigned) are
-- read from the file IDS, one per line (bench/search_run writes it).
local ids = {}
local counter = 0

function setup(thread)
  thread:set("seed", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + seed * 7919)
  for line in io.lines(os.getenv("IDS")) do
    ids[#ids + 1] = line
  end
end

function request()
  return wrk.format("GET", "/fhir/Observation?subject=Patient/" .. ids[math.random(1, #ids)] ..
    "&code=http://loinc.org%7C2345-7&date=ge2023-06-01")
end

function response(status, headers, body)
  if status ~= 200 then
    error("unexpected status " .. status)
  end
end
