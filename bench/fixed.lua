-- fixed.lua - a fixed response through the same HTTP stack (GET /healthz):
-- the ceiling that read-by-id is reported against.
wrk.path = "/healthz"
