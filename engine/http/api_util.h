// Helpers shared by the API's translation units: request parsing, JSON members, statuses.
// Private to engine/http; the only header besides server.cpp's includes that sees Boost.JSON.
#pragma once

#include <boost/json.hpp>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/http/api.h"

namespace rectrack::http {

namespace json = boost::json;

inline constexpr const char* kApi = "/api/v1/";

// A parsed request target.
struct Target {
  std::string path;                          // percent-decoded
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
Result<Target> ParseTarget(const std::string& target);
Status OnlyParams(const Target& t, std::initializer_list<const char*> allowed);
Result<std::optional<Date>> DateParam(const Target& t, const char* name);
Result<std::optional<bool>> BoolParam(const Target& t, const char* name);

// JSON bodies: members of the right type, with errors naming the member.
Result<json::object> ParseJsonObject(const Request& req);
Result<std::string> StringMember(const json::object& o, const char* key, bool required);
Result<std::vector<std::string>> StringList(const json::value& v, const std::string& key);
Result<Date> DateMember(const json::object& o, const char* key);
Status OnlyMembers(const json::object& o, std::initializer_list<const char*> allowed);

std::vector<std::string> Split(const std::string& path);  // "/a/b/" -> {"a", "b"}
std::string Lower(std::string s);
bool ContainsFolded(const std::string& haystack, const std::string& needle);
// A recommendation's ETag is "<version>-<as-of date>", plus ".<version>" of the newest of the
// `actions` shown with it, so a change to any of them changes the tag. IfMatchVersions reads an
// If-Match list (RFC 9110): the (recommendation) versions of its strong tags (weak ones never
// match); nullopt when malformed.
std::string RecommendationEtag(const RecommendationView& v,
                               const std::vector<RecommendationView>& actions = {});
std::optional<std::vector<long long>> IfMatchVersions(const std::string& header);

// Units, actions and progress (api_actions.cpp). ActionsGet answers GET units, actions,
// actions/{id} and reports/progress, nullopt for any other route. The *Command functions read a
// POST body into the command to write, or the refusal to answer; role, body and unit come from
// `who`. EventCommand fires on `current`, a recommendation or an action (RecordEvent::kind is
// its kind). VisibleActions: the actions of `recommendation` as at `as_of` that `who` may see
// (its body's, when scoped). REQUIRES: the Api's mutex held.
std::vector<RecommendationView> VisibleActions(const Engine& engine, const Principal& who,
                                               const std::string& recommendation, Date as_of);
std::optional<Response> ActionsGet(const Engine& engine, const Target& t,
                                   const std::vector<std::string>& parts, const Principal& who);
std::variant<Command, Response> UnitCommand(const Engine& engine, const Principal& who,
                                            const json::object& o);
std::variant<Command, Response> ActionCommand(const Engine& engine, const Principal& who,
                                              const std::string& recommendation,
                                              const json::object& o);
std::variant<Command, Response> EventCommand(const Engine& engine, const Principal& who,
                                             const Request& req, const json::object& o,
                                             const RecommendationView& current);

}  // namespace rectrack::http
