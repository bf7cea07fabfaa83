-- create.lua - durable single-resource create: POST an Observation (~1.3 KB).
local body = [[{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory","display":"Laboratory"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"2345-7","display":"Glucose [Mass/volume] in Serum or Plasma"}],"text":"葡萄糖"},"subject":{"reference":"Patient/bench-1"},"encounter":{"reference":"Encounter/enc-1"},"effectiveDateTime":"2024-05-01T08:30:00+08:00","issued":"2024-05-01T10:00:00+08:00","performer":[{"reference":"Organization/org-zzu1","display":"郑州大学第一附属医院"}],"valueQuantity":{"value":5.60,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N","display":"Normal"}]}],"referenceRange":[{"low":{"value":3.90,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"high":{"value":6.10,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"},"text":"3.90-6.10 mmol/L"}]}]]

wrk.method = "POST"
wrk.path = "/fhir/Observation"
wrk.body = body
wrk.headers["Content-Type"] = "application/fhir+json"
wrk.headers["Prefer"] = "return=minimal"

function response(status, headers, body)
  if status ~= 201 then
    error("unexpected status " .. status)
  end
end
