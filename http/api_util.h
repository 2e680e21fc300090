// Helpers shared by the API's translation units: request parsing, JSON members, statuses.
// Private to http/; the only header besides server.cpp's includes that sees Boost.JSON.
#pragma once

#include <boost/json.hpp>

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/strings.h"
#include "engine/access.h"
#include "engine/documents.h"
#include "engine/engine.h"
#include "http/api.h"

namespace rectrack::http {

namespace json = boost::json;

inline constexpr const char* kApi = "/api/v1/";

// A parsed request target.
struct Target {
  std::string path;  // percent-decoded, but a '/' encoded in a segment stays "%2F"
  std::map<std::string, std::string> query;  // decoded; each key at most once
};

// Statuses: the reason phrase, an engine Status as HTTP (InvalidArgument -> 422: malformed
// input is caught by the adapter first and answered 400), and problem responses.
const char* Reason(int status);
int HttpStatus(const Status& s);
Response FromStatus(const Status& s);
Response NotAllowed(const std::string& allow);
Response Json(int status, std::string body);

// Request targets and query parameters; errors are InvalidArgument saying which parameter.
// ParseTarget reads a plain target (nothing percent-encoded, only the characters most requests
// use) itself, and gives every other to ParseTargetInFull (Boost.URL): the same answer either
// way (fuzz/target_fuzz.cpp compares them), at a fraction of the cost on the common case.
Result<Target> ParseTarget(const std::string& target);
Result<Target> ParseTargetInFull(const std::string& target);
// The fields of a URL-encoded form's body (application/x-www-form-urlencoded), read as a query
// is, its refusals speaking of fields: "the field 'note' was sent more than once".
Result<std::map<std::string, std::string>> ParseFormBody(const std::string& body);
Status OnlyParams(const Target& t, std::initializer_list<const char*> allowed);
// Whether `url`, said as `what` ("public_url"), is where people reach this server: an absolute
// http or https URL with a host, and no query or fragment (links are made by adding paths).
Status CheckBaseUrl(const std::string& url, const std::string& what);
Result<std::optional<Date>> DateParam(const Target& t, const char* name);
Result<std::optional<bool>> BoolParam(const Target& t, const char* name);

// A list route's `format` (json, the default, or csv: the whole filtered list, not a page) and,
// with csv, `bom` (true: a UTF-8 byte order mark first, which Excel needs to read UTF-8).
struct ListFormat {
  bool csv = false;
  bool bom = false;
};
Result<ListFormat> ListFormatParams(const Target& t);
// `csv` (RFC 4180, a header row first) as a file to save named `name`.
Response CsvFile(std::string csv, const std::string& name, bool bom);
// A document to save as `name`.<format>, made by `make` once the engine's lock is released (a
// PDF takes an outside program seconds); its failure is answered as a problem (a converter that
// is busy or too slow: 503 with Retry-After).
Response DocumentFile(std::function<Result<std::string>()> make, DocumentFormat format,
                      const std::string& name);

// An evidence file as the API and the web hand it out: always a download (Content-Disposition:
// attachment, with its name as RFC 6266 writes a UTF-8 one), its media type as its content showed
// when it was kept, X-Content-Type-Options: nosniff and a sandboxing Content-Security-Policy,
// so that no browser renders it as a page of this site.
Response EvidenceFileResponse(EvidenceDownload download);

// JSON bodies: members of the right type, with errors naming the member.
Result<json::object> ParseJsonObject(const Request& req);
Result<json::object> ParseJsonObject(std::string_view text);
Result<std::string> StringMember(const json::object& o, const char* key, bool required);
Result<std::vector<std::string>> StringList(const json::value& v, const std::string& key);
Result<Date> DateMember(const json::object& o, const char* key);
Status OnlyMembers(const json::object& o, std::initializer_list<const char*> allowed);

bool ContainsFolded(const std::string& haystack, const std::string& needle);
// A recommendation's ETag is "<version>-<as-of date>", plus ".<version>" of the newest of the
// `actions` shown with it, so a change to any of them changes the tag. IfMatchVersions reads an
// If-Match list (RFC 9110): the (recommendation) versions of its strong tags (weak ones never
// match); nullopt when malformed.
std::string RecommendationEtag(const RecommendationView& v,
                               const std::vector<RecommendationView>& actions = {});
std::optional<std::vector<long long>> IfMatchVersions(const std::string& header);

// --- Routing (api_routes.cpp). A request the table matched: what the handler needs, read
// under the host's lock (so `engine` may be queried), with the caller established.
struct Call {
  const Request& request;
  const Target& target;
  const std::vector<std::string>& params;  // the path segments the route's {} matched, in order
  const Principal& who;
  const Engine& engine;
  const ApiOptions& options;

  // The query parameter `name`, or "" when absent.
  std::string Query(const char* name) const;
};

// A list's `limit`: a number from 1 to options.max_page, or options.default_page when absent.
Result<size_t> PageLimit(const Call& call);

// What a POST writes, and how to answer once it is committed or refused (run by the host's
// writer with its lock held).
struct Plan {
  std::vector<Command> commands;
  std::function<Response(const Result<ApplyReport>&, const Engine&)> answer;
};

// A POST's body, parsed before the lock is taken: a JSON object, or an import file's commands.
struct PostBody {
  json::object object;
  std::vector<Command> imported;
  std::vector<EvidenceFile> files;  // kEvent sent as multipart/form-data
};

using OpenHandler = std::function<Response()>;
using GetHandler = std::function<Response(const Call&)>;
// A POST handler may move what it needs out of the body (an import's commands).
using PostHandler = std::function<std::variant<Response, Plan>(const Call&, PostBody&)>;

enum class Access {
  kOpen,    // no token needed (/healthz, /openapi.yaml): answered without the engine's lock
  kToken,   // a bearer token (or public_read for GETs)
  kFeed,    // a bearer token or ?token=, for feed readers and calendars that send no headers
  kDefine,  // a token whose role may define (import): refused before the body is read
};
// kEvent: JSON, or multipart/form-data with that JSON in a part named "event" and evidence files
// in parts named "file".
enum class BodyKind { kNone, kJson, kImport, kEvent };

struct Route {
  std::string method;   // "GET" (HEAD too) or "POST"
  std::string pattern;  // "/healthz", or under /api/v1/ as "recommendations/{}/events"
  Access access = Access::kToken;
  OpenHandler open;  // for kOpen
  GetHandler get;    // for other GETs
  PostHandler post;  // for POSTs
  BodyKind body = BodyKind::kNone;
  bool cached = false;  // a GET answer the Api may reuse until the log grows or the day turns
  // A GET that the item heads answer while the server starts (EngineHost::ReadHeads); every
  // other route is 503 until the log is read.
  bool while_starting = false;
};

// The routes, matched by method and path. Immutable once built; thread-safe.
class RouteTable {
 public:
  explicit RouteTable(std::vector<Route> routes);
  // The route for `method` and `path` (percent-decoded; HEAD is asked as GET), with the
  // segments its {} matched in *params; nullptr when none. *path_known is set when a route of
  // another method has that path.
  const Route* Find(const std::string& method, const std::string& path,
                    std::vector<std::string>* params, bool* path_known) const;
  // The methods the routes of `path` answer ("GET, HEAD", "POST"), for a 405's Allow header.
  std::string Allowed(const std::string& path) const;

 private:
  // The segments of `path` under /api/v1/ prefixed by "api", or the top-level path whole;
  // views into `path` (no copies: this runs on every request).
  static std::vector<std::string_view> Segments(std::string_view path);
  static bool Matches(const std::vector<std::string>& pattern,
                      const std::vector<std::string_view>& segments,
                      std::vector<std::string>* params);

  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // routes_[i]'s pattern, as Segments
};

// The API's routes; `metrics` answers GET /metrics (it needs the Api's counters).
// `started`: whether the server has read the log (GET /readyz).
std::vector<Route> ApiRoutes(std::function<Response(const Engine&)> metrics,
                             std::function<bool()> started);

// The body ?body= asks about ("" for all), narrowed to the caller's: a body-scoped token sees
// its own body (that one when it asks for none, 403 when it asks for another).
std::variant<std::string, Response> ScopedBody(const Call& call);

// --- Handlers. GETs return the answer; POSTs the commands to write or a refusal. Each reads
// only what it is given; all access checks happen in them or in the Api's authentication.
// api_routes.cpp:
Response GetBodies(const Call& call);
Response GetInspections(const Call& call);
Response GetRecommendations(const Call& call);
Response GetRecommendation(const Call& call);
Response GetAnnex(const Call& call);
Response GetEvidence(const Call& call);
std::variant<Response, Plan> PostImport(const Call& call, PostBody& body);
std::variant<Response, Plan> PostInspection(const Call& call, PostBody& body);
std::variant<Response, Plan> PostRecommendation(const Call& call, PostBody& body);
// api_actions.cpp:
Response GetUnits(const Call& call);
Response GetActions(const Call& call);
Response GetAction(const Call& call);
Response GetProgress(const Call& call);
std::variant<Response, Plan> PostUnit(const Call& call, PostBody& body);
std::variant<Response, Plan> PostAction(const Call& call, PostBody& body);
std::variant<Response, Plan> PostRecommendationEvent(const Call& call, PostBody& body);
std::variant<Response, Plan> PostActionEvent(const Call& call, PostBody& body);
// api_alerts.cpp:
Response GetAlerts(const Call& call);
Response GetAlert(const Call& call);
// api_feeds.cpp:
Response GetAtomFeed(const Call& call);
Response GetCalendar(const Call& call);

// The answer to a committed write about recommendation or action `subject`: the item (or, for
// an event, the item and the event recorded), with its ETag and Location.
Response ItemWritten(const Engine& engine, const Principal& who, const std::string& subject,
                     bool action, bool event, const ApplyReport& report);

}  // namespace rectrack::http
