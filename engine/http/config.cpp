#include "engine/http/config.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "engine/yaml_util.h"

namespace rectrack::http {
namespace {

Result<long long> Number(const std::string& key, const std::string& text, long long min,
                         long long max) {
  if (text.empty() || text.size() > 12 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(c); })) {
    return Status::InvalidArgument(key + " must be a whole number, not '" + text + "'");
  }
  long long v = std::stoll(text);
  if (v < min || v > max) {
    return Status::InvalidArgument(key + " must be from " + std::to_string(min) + " to " +
                                   std::to_string(max));
  }
  return v;
}

// One setter per key, shared by the file and the environment so both accept the same values.
Status Set(ServeConfig* c, const std::string& key, const std::string& value) {
  auto number = [&](long long min, long long max) { return Number(key, value, min, max); };
  if (key == "listen") return ParseListen(value, &c->server);
  if (key == "db") {
    c->db = value;
  } else if (key == "workflow") {
    c->workflow = value;
  } else if (key == "public_read") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument("public_read must be true or false");
    }
    c->api.public_read = value == "true";
  } else if (key == "threads") {
    ASSIGN_OR_RETURN(c->server.threads, number(1, 64));
  } else if (key == "max_connections") {
    ASSIGN_OR_RETURN(c->server.max_connections, number(1, 100000));
  } else if (key == "max_body_bytes") {
    ASSIGN_OR_RETURN(c->server.max_body_bytes, number(1024, 1LL << 30));
  } else if (key == "max_header_bytes") {
    ASSIGN_OR_RETURN(c->server.max_header_bytes, number(1024, 1 << 20));
  } else if (key == "timeout_seconds") {
    ASSIGN_OR_RETURN(c->server.timeout_seconds, number(1, 3600));
  } else if (key == "heartbeat_seconds") {
    ASSIGN_OR_RETURN(c->server.heartbeat_seconds, number(1, 3600));
  } else if (key == "shutdown_grace_seconds") {
    ASSIGN_OR_RETURN(c->server.shutdown_grace_seconds, number(0, 3600));
  } else if (key == "max_streams") {
    ASSIGN_OR_RETURN(c->api.max_streams, number(1, 100000));
  } else if (key == "rate_per_minute") {
    ASSIGN_OR_RETURN(c->api.rate_per_minute, number(0, 1000000));
  } else {
    return Status::InvalidArgument("unknown setting '" + key + "'");
  }
  return Status();
}

const char* kKeys[] = {"listen",
                       "db",
                       "workflow",
                       "public_read",
                       "threads",
                       "max_connections",
                       "max_body_bytes",
                       "max_header_bytes",
                       "timeout_seconds",
                       "rate_per_minute",
                       "heartbeat_seconds",
                       "max_streams",
                       "shutdown_grace_seconds"};

}  // namespace

Status LoadConfigFile(const std::string& path, ServeConfig* config) {
  ASSIGN_OR_RETURN(std::string text, yaml::ReadFile(path));
  ASSIGN_OR_RETURN(YAML::Node root, yaml::ParseDocument(text, path));
  if (root.IsNull()) return Status();
  return yaml::ForEachEntry(
      path, root, "config", {std::begin(kKeys), std::end(kKeys)},
      [&](const std::string& key, const YAML::Node&, const YAML::Node& value) -> Status {
        ASSIGN_OR_RETURN(std::string scalar, yaml::Scalar(path, value, key));
        return Set(config, key, scalar).WithContext(yaml::Where(path, value));
      });
}

Status ApplyEnvironment(ServeConfig* config, const char* (*getenv)(const char*)) {
  for (const char* key : kKeys) {
    std::string name = "RECTRACK_";
    for (const char* p = key; *p; ++p) name += static_cast<char>(std::toupper(*p));
    const char* value = getenv(name.c_str());
    if (value && *value) RETURN_IF_ERROR(Set(config, key, value).WithContext(name));
  }
  return Status();
}

}  // namespace rectrack::http
