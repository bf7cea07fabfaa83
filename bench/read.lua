-- read.lua - GET /fhir/Observation/obs-N for a random N in 1..COUNT.
-- COUNT comes from the environment (default 1,000,000).
local count = tonumber(os.getenv("COUNT") or "1000000")
local counter = 0

function setup(thread)
  thread:set("seed", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + seed * 7919)
end

function request()
  return wrk.format("GET", "/fhir/Observation/obs-" .. math.random(1, count))
end

function response(status, headers, body)
  if status ~= 200 then
    error("unexpected status " .. status)
  end
end
