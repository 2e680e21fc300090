// Api: the HTTP API as a function from request to response, with no sockets in sight, so the
// server (server.h) is a thin shell and tests can call it directly.
//
// Routes (all under /api/v1 unless noted; see docs/api.md and /openapi.yaml):
//   GET  /healthz                                  no token needed
//   GET  bodies | inspections |
//   recommendations?body=&state=&open=&overdue=&as_of=&q=&limit=&cursor= GET
//   recommendations/{id}?as_of=               ETag; If-None-Match -> 304 POST inspections |
//   recommendations | recommendations/{id}/events | import GET
//   reports/annex?body=&as_of=&format=json|csv|md|html
// Errors are RFC 9457 application/problem+json with a precise detail.
//
// Thread-safety: Handle() may be called from many threads; engine access is serialised inside.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace rectrack::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // origin-form: "/api/v1/recommendations?open=true"
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string Header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (ETag, Location, ...)
};

struct ApiOptions {
  size_t max_page = 1000;  // largest `limit` a list request may ask for
  size_t default_page = 100;
  bool public_read = false;  // when true, GETs without a token read as an unscoped reader
};

class Api {
 public:
  // REQUIRES: `engine` outlives the Api.
  Api(Engine* engine, ApiOptions options) : engine_(engine), options_(options) {}

  Response Handle(const Request& request);

  // Problem response for `status` with `detail`; used by the server for errors found before a
  // request reaches the API (too large, malformed, too many connections).
  static Response Problem(int status, const std::string& detail);

 private:
  Response Route(const Request& request);

  Engine* engine_;
  ApiOptions options_;
  std::mutex mutex_;  // guards engine_
};

}  // namespace rectrack::http
