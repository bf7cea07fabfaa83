-- assign_bed.lua - $assign-bed of the beds of bench/inpatient_seed.mjs. RACE=1: both client
-- threads go through the same beds (ar-bed-I to encounter ar-T-I, T the thread), so every bed is
-- asked for twice at about the same time; one gets 200, the other 409. RACE=0: thread T takes
-- the beds from T * BEDS / 2 on (ab-bed-I to encounter ab-I), so every request gets its bed.
-- Run with -t2.
local race = os.getenv("RACE") ~= "0"
local beds = tonumber(os.getenv("BEDS") or "40000")
local counter = 0

function setup(thread)
  thread:set("thread_no", counter)
  counter = counter + 1
end

-- (headers given to wrk.format would replace these, the -H token among them)
wrk.headers["Content-Type"] = "application/fhir+json"

local next_bed = nil

function request()
  if not next_bed then
    next_bed = race and 0 or thread_no * math.floor(beds / 2)
  end
  local i = next_bed
  next_bed = next_bed + 1
  local encounter = race and ("ar-" .. thread_no .. "-" .. i) or ("ab-" .. i)
  local body = '{"resourceType":"Parameters","parameter":[{"name":"encounter","valueReference":' ..
    '{"reference":"Encounter/' .. encounter .. '"}}]}'
  return wrk.format("POST", "/fhir/Location/" .. (race and "ar" or "ab") .. "-bed-" .. i ..
    "/$assign-bed", nil, body)
end

function response(status, headers, body)
  if status ~= 200 and status ~= 409 then
    error("unexpected answer " .. status .. " " .. body:sub(1, 200))
  end
end
