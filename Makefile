# Thin wrapper over CMake for the two README commands:
#   make run     build, load the demo data set (first time), serve on :8080
#   make check   every test: unit, e2e, round trip of the R4 examples,
#                crash durability, ASan+UBSan, format and source checks
BUILD      ?= build
PORT       ?= 8080
DATA       ?= data
JOBS       ?= $(shell nproc)

.PHONY: all deps build run check generate docs bench clean

all: build

deps:
	@sh tools/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The console's chart library, from npm (package-lock.json), served by the server from web/vendor.
web/vendor/echarts.min.js: node_modules/.installed
	@mkdir -p web/vendor
	cp node_modules/echarts/dist/echarts.min.js $@

run: build web/vendor/echarts.min.js
	@if [ ! -f $(DATA)/yujian.db ]; then $(BUILD)/yujian demo --data $(DATA); \
	elif [ -f $(DATA)/demo-accounts.txt ]; then echo "demo accounts (演示账号):"; cat $(DATA)/demo-accounts.txt; fi
	$(BUILD)/yujian serve --data $(DATA) --port $(PORT)

check: deps node_modules/.installed web/vendor/echarts.min.js
	@sh tools/check

# Regenerate the FHIR model and search-parameter tables from the R4 definitions.
generate: node_modules/.installed
	python3 tools/gen_model.py node_modules/hl7.fhir.r4.examples src/fhir/model_gen.c
	python3 tools/gen_search.py node_modules/hl7.fhir.r4.examples src/fhir/search_gen.c

# Regenerate docs/config.md from the option table.
docs: build
	$(BUILD)/yujian config-doc > docs/config.md

bench: build
	@sh bench/run

clean:
	rm -rf $(BUILD) build-check build-asan
