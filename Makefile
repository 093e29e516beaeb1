# The two set-up commands: `make demo` and `make test`. Both install what is missing first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build demo test bench clean format

deps:
	bash scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	$(BUILD)/truce --db $(BUILD)/demo.db demo --fresh

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	TRUCE_BENCH_DEPS=1 bash scripts/install-deps
	bash bench/run-all

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')
