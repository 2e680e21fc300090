// libFuzzer target: the HTTP request path end to end (http::Api::Handle) over a real engine on
// an in-memory SQLite database holding the demo data. An input is a request as text:
//
//   METHOD TARGET\n
//   header: value\n ...      (lower-cased; "authorization: inspectorate" uses that role's token)
//   \n
//   body
//
// Every answer must be a well-formed status (100-599); nothing may crash, and a refused write
// must leave the log as it was (checked with Engine::Verify every so often).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "engine/importer.h"
#include "fuzz/fuzz_support.h"
#include "http/api.h"

namespace {

struct World {
  rectrack::ShiftedClock clock{rectrack::ParseInstant("2025-12-01T08:00:00Z").value(), 0};
  std::unique_ptr<rectrack::Engine> engine;
  std::unique_ptr<rectrack::EngineHost> host;
  std::unique_ptr<rectrack::http::Api> api;
  std::map<std::string, std::string> tokens;  // role -> secret
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    rectrack::Engine::Options options;
    options.db_path = ":memory:";
    options.workflow_path = rectrack::fuzz::Source() + "/workflows/recommendation.yaml";
    options.clock = &w->clock;
    options.create_if_missing = true;
    auto engine = rectrack::Engine::Open(options);
    if (!engine.ok()) {
      std::cerr << "api_fuzz: " << engine.status().message() << "\n";
      std::abort();
    }
    w->engine = std::move(engine).value();
    for (const char* file : {"domestic-abuse.yaml", "more-bodies.yaml", "cps-south-west.yaml"}) {
      auto commands =
          rectrack::ParseImportFile(rectrack::fuzz::Source() + "/demo/" + file,
                                    w->engine->workflow(), w->engine->action_workflow());
      if (!commands.ok() || !w->engine->Apply(*commands, "fuzz").ok()) std::abort();
    }
    for (auto [role, body] :
         {std::pair{"inspectorate", ""}, {"body_lead", "CPS"}, {"reader", ""}}) {
      auto made = w->engine->CreateToken(role, body, std::nullopt, "fuzz");
      if (!made.ok()) std::abort();
      w->tokens[role] = made->second;
    }
    w->host = std::make_unique<rectrack::EngineHost>(w->engine.get());
    rectrack::http::ApiOptions api_options;
    api_options.rate_per_minute = 0;
    api_options.rate_bytes_per_minute = 0;
    w->api = std::make_unique<rectrack::http::Api>(w->host.get(), api_options);
    return w;
  }();
  return *world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& world = TheWorld();
  const std::string text(reinterpret_cast<const char*>(data), size);
  rectrack::http::Request request;
  request.remote = "127.0.0.1";
  size_t line_end = text.find('\n');
  const std::string first = text.substr(0, line_end);
  const size_t space = first.find(' ');
  request.method = first.substr(0, space);
  request.target = space == std::string::npos ? "/" : first.substr(space + 1);
  size_t at = line_end == std::string::npos ? text.size() : line_end + 1;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "authorization" && world.tokens.count(value)) {
      value = "Bearer " + world.tokens.at(value);
    }
    request.headers[name] = value;
  }
  if (at < text.size()) request.body = text.substr(at);
  const rectrack::http::Response response = world.api->Handle(request);
  if (response.status < 100 || response.status > 599) std::abort();
  static int calls = 0;
  if (++calls % 500 == 0) {
    rectrack::Status verified;
    (void)world.host->Update([&](rectrack::Engine& e) { verified = e.Verify().status(); });
    if (!verified.ok()) {
      std::cerr << "api_fuzz: the log no longer verifies: " << verified.message() << "\n";
      std::abort();
    }
  }
  return 0;
}
