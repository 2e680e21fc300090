# The two commands of the README:
#   make run   installs what is missing, builds rectrack (Release), loads the demo and serves it
#   make test  installs what is missing, builds everything and runs every test through ctest
BUILD_DIR ?= build
JOBS ?= 2
DEMO_DB ?= $(BUILD_DIR)/demo.db
LISTEN ?= 127.0.0.1:8080
# The demo server runs as if it were 1 December 2025, an hour per second: alerts are due on
# first start (due-soon warnings for December deadlines, overdue recommendations) and more fall
# due while you watch (the demo is imported as recorded then, too). DEMO_CLOCK= make run uses
# the real clock.
DEMO_CLOCK ?= 2025-12-01T08:00:00Z
DEMO_CLOCK_RATE ?= 3600
CLOCK_FLAGS := $(if $(DEMO_CLOCK),--clock $(DEMO_CLOCK) --clock-rate $(DEMO_CLOCK_RATE))
# What a shell sources to run the command line at the demo server's time (its clock was
# DEMO_CLOCK at the real instant SINCE, when the server started): see the README's tour.
DEMO_ENV := $(BUILD_DIR)/demo.env
RECTRACK := $(BUILD_DIR)/cli/rectrack
DEMO_PASSWORD ?= demo-password-1

# ccache finds what another checkout of the same sources compiled (CI builds a fresh clone).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
SAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
FUZZ_SECONDS ?= 30
# The same seed each run makes a CI failure reproducible; FUZZ_SEED=0 picks a new one each time.
FUZZ_SEED ?= 1

.PHONY: run test deps configure build clean format sanitize asan fuzz tsan

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
	$(RECTRACK) --db $(DEMO_DB) $(if $(DEMO_CLOCK),--clock $(DEMO_CLOCK)) import \
		demo/domestic-abuse.yaml demo/more-bodies.yaml demo/cps-south-west.yaml
	@echo
	@echo "== Annex A for the CPS as at 31 March 2025 (also: rectrack report annex --body CPS --as-of 2025-03-31)"
	@$(RECTRACK) --db $(DEMO_DB) report annex --body CPS --as-of 2025-03-31
	@echo
	@echo "== Demo accounts for the web workspace (password for each: $(DEMO_PASSWORD))"
	@for account in "staff@hmcpsi.example --role inspectorate" \
	    "lead@cps.example --role body_lead --body CPS" \
	    "sw-lead@cps.example --role body_lead --body CPS --unit cps-sw" \
	    "lead@sfo.example --role body_lead --body SFO" \
	    "reader@ago.example --role reader"; do \
	  echo "$(DEMO_PASSWORD)" | $(RECTRACK) --db $(DEMO_DB) user add --email $$account | sed 's/^/   /'; \
	done
	@echo
	@INSPECTORATE=$$($(RECTRACK) --db $(DEMO_DB) token create --role inspectorate --label demo | head -1); \
	CPS_LEAD=$$($(RECTRACK) --db $(DEMO_DB) token create --role body_lead --body CPS --label demo | head -1); \
	SW_LEAD=$$($(RECTRACK) --db $(DEMO_DB) token create --role body_lead --body CPS --unit cps-sw --label demo | head -1); \
	READER=$$($(RECTRACK) --db $(DEMO_DB) token create --role reader --label demo | head -1); \
	echo "== Demo tokens (shown once; stored only as hashes)"; \
	echo "   inspectorate:  $$INSPECTORATE"; \
	echo "   CPS body lead: $$CPS_LEAD"; \
	echo "   CPS South West Area lead (its actions only): $$SW_LEAD"; \
	echo "   reader:        $$READER"; \
	echo; \
	echo "Open http://$(LISTEN)/ in a browser and sign in as one of the accounts above."; \
	echo; \
	echo "Or the API:"; \
	echo "   curl -H 'Authorization: Bearer $$READER' 'http://$(LISTEN)/api/v1/recommendations?open=true&body=CPS'"; \
	echo "   curl 'http://$(LISTEN)/feed.atom?token=$$READER'"; \
	echo "   curl -N -H 'Authorization: Bearer $$READER' http://$(LISTEN)/api/v1/stream"; \
	echo "   curl -H 'Authorization: Bearer $$READER' 'http://$(LISTEN)/api/v1/alerts?body=CPS'"; \
	echo "   . $(DEMO_ENV); $(RECTRACK) alerts"; \
	echo "   . $(DEMO_ENV); $(RECTRACK) report progress --body CPS --as-of 2023-06-30"; \
	echo "   curl -H 'Authorization: Bearer $$CPS_LEAD' -H 'Content-Type: application/json' -d '{\"do\":\"update\",\"note\":\"progress\"}' http://$(LISTEN)/api/v1/recommendations/da25-n2/events"; \
	echo; \
	SINCE=$$(date -u +%Y-%m-%dT%H:%M:%SZ); \
	if [ -n "$(DEMO_CLOCK)" ]; then \
	  echo "export RECTRACK_DB=$(abspath $(DEMO_DB)) RECTRACK_CLOCK=$(DEMO_CLOCK) RECTRACK_CLOCK_RATE=$(DEMO_CLOCK_RATE) RECTRACK_CLOCK_SINCE=$$SINCE" > $(DEMO_ENV); \
	else \
	  echo "export RECTRACK_DB=$(abspath $(DEMO_DB)); unset RECTRACK_CLOCK RECTRACK_CLOCK_RATE RECTRACK_CLOCK_SINCE" > $(DEMO_ENV); \
	fi; \
	echo "For the command line at the server's time: . $(DEMO_ENV)"; \
	exec $(RECTRACK) --db $(DEMO_DB) $(CLOCK_FLAGS) $(if $(DEMO_CLOCK),--clock-since $$SINCE) serve --listen $(LISTEN)

test: build
	RECTRACK_REQUIRE_TOOLS=1 ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

# The sanitizer and fuzzing pass (issue 15; CI runs it after make test): AddressSanitizer and
# UndefinedBehaviorSanitizer over every test, each libFuzzer target for FUZZ_SECONDS, then
# ThreadSanitizer over the threaded tests. About 15 minutes with a warm ccache on 2 cores; 50
# from cold.
sanitize:
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory tsan

# clang with AddressSanitizer and UndefinedBehaviorSanitizer builds everything; every test but
# the browser's runs under them, with each fuzz target's corpus.
asan: deps
	@CC=clang CXX=clang++ cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_FLAGS_RELEASE= -DRECTRACK_SANITIZE=address,undefined -DRECTRACK_FUZZ=ON >/dev/null
	cmake --build $(SAN_DIR) -j$(JOBS)
	RECTRACK_REQUIRE_TOOLS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(SAN_DIR) --output-on-failure -j$(JOBS) -E '^(web_browser|thread_safety)'

# ThreadSanitizer over the tests where threads meet: the HTTP server and its connections, live
# streams, the engine host and its group commit, the alert scheduler, outbox and deliveries.
TSAN_TARGETS := rectrack server_test server_limits_test server_slow_clients_test server_start_test stream_test host_test engine_test engine_write_test read_ahead_test alerts_e2e_test \
	alerts_e2e_start_test \
	alerts_test delivery_test
TSAN_TESTS := ^(ServerTest|StartingServerTest|ServeStart|StreamTest|HostTest|EngineTest|ReadAheadTest|AlertsE2eTest|AlertQueueTest|AlertsTest|WebhookTest|EmailTest)\.
tsan: deps
	@echo "== ThreadSanitizer"
	@CC=clang CXX=clang++ cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_FLAGS_RELEASE= -DRECTRACK_SANITIZE=thread >/dev/null
	cmake --build $(TSAN_DIR) -j$(JOBS) --target $(TSAN_TARGETS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(TSAN_DIR) --output-on-failure -j$(JOBS) -R '$(TSAN_TESTS)'

# Each fuzz target for FUZZ_SECONDS (longer: make fuzz FUZZ_SECONDS=600), from its seed corpus
# (read only); what it finds new goes to $(SAN_DIR)/fuzz-corpus, a crash to $(SAN_DIR)/fuzz-crashes
# (copy it into fuzz/corpus/<target>/ once fixed, so it stays a test).
fuzz:
	@for target in import workflow rules deadline_text target api upload draft; do \
	  mkdir -p $(SAN_DIR)/fuzz-corpus/$$target $(SAN_DIR)/fuzz-crashes; \
	  echo "== fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1 \
	  $(SAN_DIR)/fuzz/$${target}_fuzz -max_total_time=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=$(SAN_DIR)/fuzz-crashes/$$target- -print_final_stats=1 \
	    $(SAN_DIR)/fuzz-corpus/$$target fuzz/corpus/$$target >$(SAN_DIR)/fuzz-$$target.log 2>&1; \
	  status=$$?; tail -n 8 $(SAN_DIR)/fuzz-$$target.log; [ $$status = 0 ] || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
