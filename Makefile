# The two commands of the README:
#   make run   installs what is missing, builds rectrack (Release) and runs the demo
#   make test  installs what is missing, builds everything and runs every test through ctest
BUILD_DIR ?= build
JOBS ?= 2
DEMO_DB ?= $(BUILD_DIR)/demo.db
RECTRACK := $(BUILD_DIR)/engine/rectrack

.PHONY: run test deps configure build clean format

deps:
	@deploy/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: configure
	cmake --build $(BUILD_DIR) -j$(JOBS) --target rectrack
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	@echo "== Importing the demo into $(DEMO_DB)"
	$(RECTRACK) --db $(DEMO_DB) import demo/domestic-abuse.yaml demo/more-bodies.yaml
	@echo
	@echo "== Annex A for the CPS as at 31 March 2025"
	@$(RECTRACK) --db $(DEMO_DB) report annex --body CPS --as-of 2025-03-31
	@echo
	@echo "== Overdue today"
	@$(RECTRACK) --db $(DEMO_DB) list --overdue
	@echo
	@$(RECTRACK) --db $(DEMO_DB) verify
	@echo
	@echo "Try: export RECTRACK_DB=$(DEMO_DB); $(RECTRACK) show da23-r2 --as-of 2025-03-31"

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
