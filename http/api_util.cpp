#include "http/api_util.h"

#include "common/strings.h"
#include "common/text.h"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace rectrack::http {

namespace urls = boost::urls;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 431:
      return "Request Header Fields Too Large";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    case 507:
      return "Insufficient Storage";
    default:
      return "Internal Server Error";
  }
}

// An engine Status as an HTTP status. InvalidArgument from the engine means well-formed input
// that breaks a rule (422); malformed input is caught here first and answered with 400.
int HttpStatus(const Status& s) {
  switch (s.code()) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 422;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kFailedPrecondition:
      return 412;
    case Code::kUnprocessable:
      return 422;
    case Code::kStorageFull:
      return 507;
    case Code::kTooLarge:
      return 413;
    case Code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

Response FromStatus(const Status& s) {
  Response r = Api::Problem(HttpStatus(s), s.message(), s.field());
  // Busy now, not broken: a client may try again in a moment (RFC 9110 10.2.3).
  if (s.code() == Code::kUnavailable) r.headers.emplace_back("Retry-After", "5");
  return r;
}

Response NotAllowed(const std::string& allow) {
  Response r = Api::Problem(405, "this route answers " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

namespace {

// A target ParseTarget reads itself: origin-form, at most one '?', and only unreserved
// characters besides '/', '?', '&', '=', ',' and ':', and in the path no "//" and no segment
// that starts with '.' (Boost.URL reads "/./" and dot segments specially): nothing to decode or
// normalise, so every parser agrees on what it means.
bool IsPlainTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  bool query = false;
  char previous = 0;
  for (const char c : target) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (c == '?') {
      if (query) return false;
      query = true;
    } else if (c == '/') {
      if (!query && previous == '/') return false;
    } else if (c == '.' && !query && previous == '/') {
      return false;
    } else if (!unreserved && c != '&' && c != '=' && c != ',' && c != ':') {
      return false;
    }
    previous = c;
  }
  return true;
}

// How a refusal names what it read: a request's query parameters, or a form's fields (read as
// a query is).
struct ParamWords {
  const char* malformed;
  const char* not_utf8;
  std::string (*repeated)(const std::string& key);
};
const ParamWords kQueryWords{
    "malformed request target", "a query parameter is not valid UTF-8",
    [](const std::string& key) { return "query parameter '" + key + "' repeated"; }};
const ParamWords kFormWords{
    "it is not URL-encoded", "a field is not valid UTF-8",
    [](const std::string& key) { return "the field '" + key + "' was sent more than once"; }};

Result<Target> ParsePlainTarget(std::string_view target, const ParamWords& words) {
  Target t;
  const size_t mark = target.find('?');
  t.path = std::string(target.substr(0, mark));
  if (mark == std::string_view::npos) return t;
  std::string_view rest = target.substr(mark + 1);
  while (true) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string key(pair.substr(0, eq));
      std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
      if (!key.empty() || !value.empty()) {
        if (t.query.count(key)) return Status::InvalidArgument(words.repeated(key));
        t.query.emplace(std::move(key), std::move(value));
      }
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return t;
}

Result<Target> ParseInFull(const std::string& target, const ParamWords& words) {
  auto parsed = urls::parse_origin_form(target);
  if (!parsed) return Status::InvalidArgument(words.malformed);
  if (!IsValidUtf8(std::string(parsed->path()))) {
    return Status::InvalidArgument("the request path is not valid UTF-8");
  }
  Target t;
  // Decoded, except that a '/' encoded inside a segment stays "%2F": ".../da25-n1%2Fevents" is
  // one segment (an id that exists nowhere), never two (another route).
  for (auto segment : parsed->encoded_segments()) {
    std::string decoded = segment.decode();
    for (size_t at = decoded.find('/'); at != std::string::npos; at = decoded.find('/', at + 3)) {
      decoded.replace(at, 1, "%2F");
    }
    t.path += "/" + decoded;
  }
  if (t.path.empty()) t.path = "/";
  for (auto param : parsed->params()) {
    std::string key(param.key);
    if (key.empty() && param.value.empty()) continue;  // "?" alone or a trailing "&"
    if (!IsValidUtf8(key) || !IsValidUtf8(std::string(param.value))) {
      return Status::InvalidArgument(words.not_utf8);
    }
    if (t.query.count(key)) return Status::InvalidArgument(words.repeated(key));
    t.query[key] = std::string(param.value);
  }
  return t;
}

Result<Target> Parse(const std::string& target, const ParamWords& words) {
  if (IsPlainTarget(target)) return ParsePlainTarget(target, words);
  return ParseInFull(target, words);
}

}  // namespace

Result<Target> ParseTarget(const std::string& target) { return Parse(target, kQueryWords); }

Result<Target> ParseTargetInFull(const std::string& target) {
  return ParseInFull(target, kQueryWords);
}

Result<std::map<std::string, std::string>> ParseFormBody(const std::string& body) {
  ASSIGN_OR_RETURN(Target read, Parse("/?" + body, kFormWords));
  return std::move(read.query);
}

Status CheckBaseUrl(const std::string& url, const std::string& what) {
  const auto parsed = urls::parse_absolute_uri(url);
  const std::string said = what + " must be an http:// or https:// address with a host, as " +
                           "people reach this server (https://rectrack.example), not '" +
                           SanitizeUtf8(url.substr(0, 200)) + "'";
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
      parsed->encoded_host().empty() || parsed->has_query() || parsed->has_fragment() ||
      parsed->has_userinfo()) {
    return Status::InvalidArgument(said);
  }
  return Status();
}

Status OnlyParams(const Target& t, std::initializer_list<const char*> allowed) {
  for (const auto& param : t.query) {
    const std::string& key = param.first;
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      return Status::InvalidArgument("unknown query parameter '" + key + "'");
    }
  }
  return Status();
}

Result<std::optional<Date>> DateParam(const Target& t, const char* name) {
  auto it = t.query.find(name);
  if (it == t.query.end()) return std::optional<Date>();
  auto date = Date::Parse(it->second);
  if (!date) {
    return Status::InvalidArgument(
        std::string(name) + " must be a real date written YYYY-MM-DD, not '" + it->second + "'");
  }
  return std::optional<Date>(date);
}

Result<std::optional<bool>> BoolParam(const Target& t, const char* name) {
  auto it = t.query.find(name);
  if (it == t.query.end()) return std::optional<bool>();
  if (it->second == "true") return std::optional<bool>(true);
  if (it->second == "false") return std::optional<bool>(false);
  return Status::InvalidArgument(std::string(name) + " must be true or false");
}

// ?limit=: a number from 1 to the largest page, or the default page.
Result<size_t> PageLimit(const Call& call) {
  if (!call.target.query.count("limit")) return call.options.default_page;
  const std::optional<int64_t> limit = ParseDigits(call.Query("limit"), 6);
  if (!limit || *limit == 0 || static_cast<size_t>(*limit) > call.options.max_page) {
    return Status::InvalidArgument("limit must be a number from 1 to " +
                                   std::to_string(call.options.max_page));
  }
  return static_cast<size_t>(*limit);
}

Result<ListFormat> ListFormatParams(const Target& t) {
  ListFormat format;
  const auto it = t.query.find("format");
  if (it != t.query.end() && it->second != "json" && it->second != "csv") {
    return Status::InvalidArgument("format must be json or csv, not '" + it->second + "'");
  }
  format.csv = it != t.query.end() && it->second == "csv";
  ASSIGN_OR_RETURN(const std::optional<bool> bom, BoolParam(t, "bom"));
  if (bom && !format.csv) return Status::InvalidArgument("bom goes only with format=csv");
  format.bom = bom.value_or(false);
  if (format.csv && (t.query.count("limit") || t.query.count("cursor") || t.query.count("after"))) {
    return Status::InvalidArgument(
        "format=csv is the whole list: leave out limit, cursor and after");
  }
  return format;
}

Response DocumentFile(std::function<Result<std::string>()> make, DocumentFormat format,
                      const std::string& name) {
  Response r;
  r.content_type = DocumentMediaType(format);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "." +
                                                    DocumentFormatName(format) + "\"");
  r.render = [make = std::move(make)](Response& out) {
    auto document = make();
    if (document.ok()) {
      out.body = std::move(*document);
    } else {
      out = FromStatus(document.status());
    }
  };
  return r;
}

Response EvidenceFileResponse(EvidenceDownload download) {
  Response r;
  r.content_type = download.file.media_type;
  if (r.content_type.rfind("text/", 0) == 0) r.content_type += "; charset=utf-8";
  r.body = std::move(download.content);
  // An ASCII name for old clients, and the real one percent-encoded (RFC 6266, RFC 8187).
  std::string ascii, encoded;
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : download.file.name) {
    const bool plain = std::isalnum(c) || std::string_view("-._~").find(static_cast<char>(c)) !=
                                              std::string_view::npos;
    ascii += c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? static_cast<char>(c) : '_';
    if (plain) {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  // The bytes never change (they are named by their hash); who may read them can.
  r.headers.emplace_back("Cache-Control", "private, no-cache");
  r.headers.emplace_back("ETag", "\"" + download.file.sha256 + "\"");
  return r;
}

Response CsvFile(std::string csv, const std::string& name, bool bom) {
  Response r;
  r.content_type = "text/csv; charset=utf-8; header=present";
  r.body = bom ? "\xEF\xBB\xBF" + std::move(csv) : std::move(csv);
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  return r;
}

namespace {

// Boost.JSON 1.81 keeps the last of duplicate members silently; `{"do":"update","do":"withdraw"}`
// must not mean withdraw. REQUIRES: `text` is valid JSON (so strings and nesting are well formed).
std::optional<std::string> DuplicateMember(std::string_view text) {
  std::vector<std::optional<std::set<std::string>>> open;  // a set per object, nullopt per array
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{') {
      open.emplace_back(std::set<std::string>());
    } else if (c == '[') {
      open.emplace_back(std::nullopt);
    } else if (c == '}' || c == ']') {
      open.pop_back();
    } else if (c == '"') {
      size_t end = i + 1;
      while (text[end] != '"') end += text[end] == '\\' ? 2 : 1;
      size_t next = end + 1;
      while (next < text.size() && std::isspace(static_cast<unsigned char>(text[next]))) ++next;
      if (next < text.size() && text[next] == ':' && !open.empty() && open.back()) {
        // Compare decoded keys: "d\u006f" is "do".
        json::error_code ec;
        json::value decoded = json::parse(text.substr(i, end - i + 1), ec);
        std::string key = !ec && decoded.is_string() ? std::string(decoded.as_string())
                                                     : std::string(text.substr(i + 1, end - i - 1));
        if (!open.back()->insert(key).second) return key;
      }
      i = end;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<json::object> ParseJsonObject(const Request& req) { return ParseJsonObject(req.body); }

Result<json::object> ParseJsonObject(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Status::InvalidArgument("malformed JSON: " + ec.message());
  if (!v.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  if (auto key = DuplicateMember(text)) {
    return Status::InvalidArgument("member '" + *key + "' is given twice");
  }
  return std::move(v.as_object());
}

// Reads a string member; "" when absent. InvalidArgument when present with another type.
Result<std::string> StringMember(const json::object& o, const char* key, bool required) {
  const json::value* v = o.if_contains(key);
  if (!v) {
    if (required) return Status::InvalidArgument("'" + std::string(key) + "' is required");
    return std::string();
  }
  if (!v->is_string())
    return Status::InvalidArgument("'" + std::string(key) + "' must be a string");
  return std::string(v->as_string());
}

Result<std::vector<std::string>> StringList(const json::value& v, const std::string& key) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.emplace_back(v.as_string());
    return out;
  }
  if (!v.is_array())
    return Status::InvalidArgument("'" + key + "' must be a string or a list of strings");
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) return Status::InvalidArgument("'" + key + "' must list strings");
    out.emplace_back(item.as_string());
  }
  return out;
}

Result<Date> DateMember(const json::object& o, const char* key) {
  ASSIGN_OR_RETURN(std::string text, StringMember(o, key, true));
  auto date = Date::Parse(text);
  if (!date) {
    return Status::InvalidArgument("'" + std::string(key) +
                                   "' must be a real date written YYYY-MM-DD, not '" + text + "'");
  }
  return *date;
}

Status OnlyMembers(const json::object& o, std::initializer_list<const char*> allowed) {
  for (const auto& member : o) {
    std::string key(member.key());
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      return Status::InvalidArgument("unknown member '" + key + "'");
    }
  }
  return Status();
}

bool ContainsFolded(const std::string& haystack, const std::string& needle) {
  return Lower(haystack).find(Lower(needle)) != std::string::npos;
}

std::string RecommendationEtag(const RecommendationView& v,
                               const std::vector<RecommendationView>& actions) {
  int64_t newest_action = 0;
  for (const RecommendationView& a : actions) newest_action = std::max(newest_action, a.version);
  return "\"" + std::to_string(v.version) + "-" + v.as_of.ToString() +
         (newest_action ? "." + std::to_string(newest_action) : "") + "\"";
}

std::optional<std::vector<long long>> IfMatchVersions(const std::string& header) {
  std::vector<long long> versions;
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    if (i >= header.size()) break;
    const bool weak = header.compare(i, 2, "W/") == 0;
    if (weak) i += 2;
    if (i >= header.size() || header[i] != '"') return std::nullopt;
    const size_t close = header.find('"', i + 1);
    if (close == std::string::npos) return std::nullopt;
    const std::string tag = header.substr(i + 1, close - i - 1);
    i = close + 1;
    // A recommendation's tag is exactly "<version>-<YYYY-MM-DD>", with ".<version>" of its
    // newest action when it has actions; weak tags never match.
    const size_t dash = tag.find('-');
    const size_t dot = tag.find('.');
    const std::string date = tag.substr(dash + 1, dot == std::string::npos ? dot : dot - dash - 1);
    if (dash == std::string::npos || dash == 0 || dash > 18 ||
        tag.find_first_not_of("0123456789") != dash || !Date::Parse(date) ||
        (dot != std::string::npos &&
         (dot + 1 == tag.size() ||
          tag.find_first_not_of("0123456789", dot + 1) != std::string::npos ||
          tag.size() - dot > 19))) {
      return std::nullopt;
    }
    if (!weak) versions.push_back(std::stoll(tag.substr(0, dash)));
  }
  if (versions.empty() && header.find('"') == std::string::npos) return std::nullopt;
  return versions;
}

void RateLimiter::TurnLocked() {
  const auto minute = std::chrono::duration_cast<std::chrono::minutes>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (minute != window_) {
    window_ = minute;
    spent_.clear();
  }
}

bool RateLimiter::Allow(const std::string& client) {
  if (per_minute_ <= 0 && bytes_per_minute_ <= 0) return true;
  MutexLock lock(&mutex_);
  TurnLocked();
  // A flood of new clients (addresses are cheap) is refused, not allowed to reset the others.
  if (spent_.size() >= 100000 && !spent_.count(client)) return false;
  Spent& spent = spent_[client];
  ++spent.requests;
  if (per_minute_ > 0 && spent.requests > per_minute_) return false;
  return bytes_per_minute_ <= 0 || spent.bytes < bytes_per_minute_;
}

bool RateLimiter::Charge(const std::string& client, size_t bytes) {
  if (bytes_per_minute_ <= 0) return true;
  MutexLock lock(&mutex_);
  TurnLocked();
  // A client not counted this minute (a stream open since the last one): counted from here;
  // while a flood of new addresses fills the map, not counted (an open stream goes on).
  if (spent_.size() >= 100000 && !spent_.count(client)) return true;
  Spent& spent = spent_[client];
  spent.bytes += static_cast<long long>(bytes);
  return spent.bytes <= bytes_per_minute_;
}

const std::string& Request::Header(const std::string& lower_name) const {
  static const std::string kAbsent;
  auto it = headers.find(lower_name);
  return it == headers.end() ? kAbsent : it->second;
}

Response Api::Healthz() { return Json(200, "{\"status\":\"ok\"}"); }

Response Api::Problem(int status, const std::string& detail, const std::string& field) {
  json::object problem{
      {"type", "about:blank"}, {"title", Reason(status)}, {"status", status}, {"detail", detail}};
  if (!field.empty()) problem["field"] = field;
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = json::serialize(problem);
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"rectrack\"");
  return r;
}

}  // namespace rectrack::http
