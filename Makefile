# The two set-up commands: `make demo` and `make test`. Both install what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build web demo test bench clean format

deps:
	bash scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)
	@$(MAKE) --no-print-directory web

# The dashboard: npm ci from the committed lock file (again only when the lock file changed), then
# the static build in web/dist that `truce serve` serves at /. Skipped, saying so, without npm.
WEB_SOURCES := $(wildcard web/index.html web/src/*.ts web/src/*/*.ts web/src/*.css web/public/*/* web/vite.config.ts web/tsconfig.json)
web:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web/dist/index.html; \
	else echo "make: npm not found: the dashboard (web/) is NOT built and truce serve will have no dashboard at /; run scripts/install-deps (nodejs, npm)"; fi

web/node_modules/.package-lock.json: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

# The demo mission, then served: the dashboard at http://127.0.0.1:8080 (Ctrl-C stops it).
demo: build
	$(BUILD)/truce --db $(BUILD)/demo.db demo --fresh > $(BUILD)/demo.log
	@cat $(BUILD)/demo.log
	@echo
	@echo "dashboard:     http://127.0.0.1:8080"
	@grep -m1 '^analyst token: ' $(BUILD)/demo.log || $(BUILD)/truce --db $(BUILD)/demo.db user add demo-analyst --role analyst | sed 's/^/analyst token: /'
	@echo "(sign in with the analyst token; Ctrl-C stops the server)"
	$(BUILD)/truce --db $(BUILD)/demo.db serve --listen 127.0.0.1:8080

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	TRUCE_BENCH_DEPS=1 bash scripts/install-deps
	bash bench/run-all

clean:
	rm -rf $(BUILD) web/dist

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')
