#include "cli/config.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>

#include "common/strings.h"
#include "engine/yaml_util.h"
#include "http/api_util.h"

namespace rectrack::cli {
namespace {

Result<long long> Number(const std::string& key, const std::string& text, long long min,
                         long long max) {
  const std::optional<int64_t> number = ParseDigits(text, 12);
  if (!number) return Status::InvalidArgument(key + " must be a whole number, not '" + text + "'");
  const long long v = *number;
  if (v < min || v > max) {
    return Status::InvalidArgument(key + " must be from " + std::to_string(min) + " to " +
                                   std::to_string(max));
  }
  return v;
}

// The URL and plain flag checked together whenever either is set (the other may come later, so a
// plain URL on another host is caught whichever key is read last).
Status CheckSmtpUrl(const ServeConfig& c) {
  if (c.alerting.smtp.url.empty()) return Status();
  alerts::SmtpRelay relay = c.alerting.smtp;
  relay.user.clear();  // the credentials are checked once resolved (ResolveSmtpPassword)
  relay.password.clear();
  return alerts::CheckSmtpRelay(relay);
}

// One setter per key, shared by the file and the environment so both accept the same values.
Status Set(ServeConfig* c, const std::string& key, const std::string& value) {
  auto number = [&](long long min, long long max) { return Number(key, value, min, max); };
  if (key == "listen") return http::ParseListen(value, &c->server);
  if (key == "db") {
    c->db = value;
  } else if (key == "workflow") {
    c->workflow = value;
  } else if (key == "public_read") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument("public_read must be true or false");
    }
    c->api.public_read = value == "true";
  } else if (key == "gov_uk" || key == "secure_cookies") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument(key + " must be true or false");
    }
    (key == "gov_uk" ? c->gov_uk : c->secure_cookies) = value == "true";
  } else if (key == "threads") {
    ASSIGN_OR_RETURN(c->server.threads, number(1, 64));
  } else if (key == "history_cache_mb") {
    ASSIGN_OR_RETURN(c->history_cache_mb, number(0, 65536));
  } else if (key == "max_connections") {
    ASSIGN_OR_RETURN(c->server.max_connections, number(1, 100000));
  } else if (key == "max_body_bytes") {
    ASSIGN_OR_RETURN(c->server.max_body_bytes, number(1024, 1LL << 30));
  } else if (key == "max_header_bytes") {
    ASSIGN_OR_RETURN(c->server.max_header_bytes, number(1024, 1 << 20));
  } else if (key == "max_connections_per_address") {
    ASSIGN_OR_RETURN(c->server.max_connections_per_address, number(1, 100000));
  } else if (key == "header_timeout_seconds") {
    ASSIGN_OR_RETURN(c->server.header_timeout_seconds, number(1, 3600));
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
  } else if (key == "rate_bytes_per_minute") {
    ASSIGN_OR_RETURN(c->api.rate_bytes_per_minute, number(0, 1LL << 40));
  } else if (key == "max_note_bytes") {
    ASSIGN_OR_RETURN(c->text_limits.note, number(100, 1 << 20));
  } else if (key == "max_text_bytes") {
    ASSIGN_OR_RETURN(c->text_limits.text, number(100, 1 << 20));
  } else if (key == "max_field_bytes") {
    ASSIGN_OR_RETURN(c->text_limits.field_value, number(100, 1 << 20));
  } else if (key == "public_url") {
    RETURN_IF_ERROR(http::CheckBaseUrl(value, "public_url"));
    c->alerting.link_base = value;
    if (value.rfind("https://", 0) == 0) c->secure_cookies = true;
    while (!c->alerting.link_base.empty() && c->alerting.link_base.back() == '/') {
      c->alerting.link_base.pop_back();
    }
  } else if (key == "webhook_allow") {
    c->alerting.delivery.allow = alerts::AllowList(SplitList(value));
  } else if (key == "trusted_proxies") {
    return http::ParseTrustedProxies(value, &c->server);
  } else if (key == "second_factor_roles") {
    const std::vector<std::string> roles = SplitList(value);
    c->second_factor_roles = std::set<std::string>(roles.begin(), roles.end());
  } else if (key == "webhook_timeout_seconds") {
    ASSIGN_OR_RETURN(long long seconds, number(1, 60));
    c->alerting.delivery.timeout = std::chrono::seconds(seconds);
  } else if (key == "smtp_relay") {
    return Status::InvalidArgument(
        "smtp_relay is replaced by smtp_url: smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT, "
        "with smtp_plain: true for a relay on this machine without TLS (docs/alerts.md)");
  } else if (key == "smtp_url") {
    c->alerting.smtp.url = value;
    RETURN_IF_ERROR(CheckSmtpUrl(*c));
  } else if (key == "smtp_plain") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument("smtp_plain must be true or false");
    }
    c->alerting.smtp.plain = value == "true";
    RETURN_IF_ERROR(CheckSmtpUrl(*c));
  } else if (key == "smtp_user") {
    c->alerting.smtp.user = value;
  } else if (key == "smtp_password_env") {
    c->smtp_password_env = value;
  } else if (key == "smtp_password_file") {
    c->smtp_password_file = value;
  } else if (key == "smtp_ca_file") {
    c->alerting.smtp.ca_file = value;
  } else if (key == "smtp_from") {
    if (value.find('@') == std::string::npos ||
        value.find_first_of(" \r\n<>") != std::string::npos) {
      return Status::InvalidArgument("smtp_from must be an email address");
    }
    c->alerting.smtp_from = value;
  } else if (key == "max_evidence_file_bytes") {
    ASSIGN_OR_RETURN(c->text_limits.evidence.file, number(1024, 1LL << 30));
  } else if (key == "max_evidence_bytes") {
    ASSIGN_OR_RETURN(c->text_limits.evidence.event, number(1024, 1LL << 30));
  } else if (key == "max_evidence_bytes_per_day") {
    ASSIGN_OR_RETURN(c->text_limits.evidence.per_actor_per_day, number(1024, 1LL << 40));
  } else if (key == "evidence_types") {
    std::vector<std::string> types = SplitList(value);
    const EvidenceLimits known;
    for (const std::string& type : types) {
      if (std::find(known.media_types.begin(), known.media_types.end(), type) ==
          known.media_types.end()) {
        return Status::InvalidArgument("evidence_types: rectrack cannot check '" + type +
                                       "' (it knows " + Join(known.media_types, ", ") + ")");
      }
    }
    c->text_limits.evidence.media_types = std::move(types);
  } else if (key == "reference_docx" || key == "reference_odt") {
    if (!std::ifstream(value)) return Status::InvalidArgument(key + ": cannot read " + value);
    (key == "reference_docx" ? c->documents.reference_docx : c->documents.reference_odt) = value;
  } else if (key == "pandoc" || key == "weasyprint") {
    if (value.empty()) return Status::InvalidArgument(key + " must name a program");
    (key == "pandoc" ? c->documents.pandoc : c->documents.weasyprint) = value;
  } else if (key == "document_timeout_seconds") {
    ASSIGN_OR_RETURN(c->documents.timeout_seconds, number(1, 3600));
  } else if (key == "documents_at_once") {
    // Conversions run on the server's blocking pool (http::ServerOptions::blocking_threads),
    // with every write: at least one thread must stay for the writes.
    ASSIGN_OR_RETURN(c->documents.max_concurrent, number(1, c->server.blocking_threads - 1));
  } else {
    return Status::InvalidArgument("unknown setting '" + key + "'");
  }
  return Status();
}

const char* kKeys[] = {"listen",
                       "db",
                       "workflow",
                       "public_read",
                       "gov_uk",
                       "secure_cookies",
                       "threads",
                       "history_cache_mb",
                       "max_connections",
                       "max_connections_per_address",
                       "header_timeout_seconds",
                       "max_body_bytes",
                       "max_header_bytes",
                       "timeout_seconds",
                       "rate_per_minute",
                       "rate_bytes_per_minute",
                       "max_note_bytes",
                       "max_text_bytes",
                       "max_field_bytes",
                       "heartbeat_seconds",
                       "max_streams",
                       "shutdown_grace_seconds",
                       "public_url",
                       "webhook_allow",
                       "webhook_timeout_seconds",
                       "smtp_relay",
                       "smtp_url",
                       "smtp_plain",
                       "smtp_user",
                       "smtp_password_env",
                       "smtp_password_file",
                       "smtp_ca_file",
                       "smtp_from",
                       "second_factor_roles",
                       "trusted_proxies",
                       "max_evidence_file_bytes",
                       "max_evidence_bytes",
                       "max_evidence_bytes_per_day",
                       "evidence_types",
                       "pandoc",
                       "weasyprint",
                       "reference_docx",
                       "reference_odt",
                       "document_timeout_seconds",
                       "documents_at_once"};

}  // namespace

Status LoadConfigFile(const std::string& path, ServeConfig* config) {
  ASSIGN_OR_RETURN(std::string text, yaml::ReadFile(path));
  ASSIGN_OR_RETURN(YAML::Node root, yaml::ParseDocument(text, path));
  if (root.IsNull()) return Status();
  return yaml::ForEachEntry(
      path, root, "config", {std::begin(kKeys), std::end(kKeys)},
      [&](const std::string& key, const YAML::Node&, const YAML::Node& value) -> Status {
        std::string scalar;
        // A list, or "a, b" as in the environment.
        if ((key == "webhook_allow" || key == "trusted_proxies") && value.IsSequence()) {
          for (const auto& item : value) {
            ASSIGN_OR_RETURN(std::string host, yaml::Scalar(path, item, key));
            scalar += (scalar.empty() ? "" : ",") + host;
          }
        } else {
          ASSIGN_OR_RETURN(scalar, yaml::Scalar(path, value, key));
        }
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

Status ApplyTextLimitsEnvironment(TextLimits* limits, const char* (*getenv)(const char*)) {
  ServeConfig config;
  config.text_limits = *limits;
  for (const char* key :
       {"max_note_bytes", "max_text_bytes", "max_field_bytes", "max_evidence_file_bytes",
        "max_evidence_bytes", "max_evidence_bytes_per_day", "evidence_types"}) {
    std::string name = "RECTRACK_";
    for (const char* p = key; *p; ++p) name += static_cast<char>(std::toupper(*p));
    const char* value = getenv(name.c_str());
    if (value && *value) RETURN_IF_ERROR(Set(&config, key, value).WithContext(name));
  }
  *limits = config.text_limits;
  return Status();
}

Status ApplyDocumentsEnvironment(ConverterOptions* documents, const char* (*getenv)(const char*)) {
  ServeConfig config;
  config.documents = *documents;
  for (const char* key :
       {"pandoc", "weasyprint", "document_timeout_seconds", "reference_docx", "reference_odt"}) {
    std::string name = "RECTRACK_";
    for (const char* p = key; *p; ++p) name += static_cast<char>(std::toupper(*p));
    const char* value = getenv(name.c_str());
    if (value && *value) RETURN_IF_ERROR(Set(&config, key, value).WithContext(name));
  }
  *documents = config.documents;
  return Status();
}

Status ResolveSmtpPassword(ServeConfig* config, const char* (*getenv)(const char*)) {
  alerts::SmtpRelay& smtp = config->alerting.smtp;
  if (!config->smtp_password_env.empty() && !config->smtp_password_file.empty()) {
    return Status::InvalidArgument("give smtp_password_env or smtp_password_file, not both");
  }
  if (!config->smtp_password_env.empty()) {
    const char* value = getenv(config->smtp_password_env.c_str());
    if (!value || !*value) {
      return Status::InvalidArgument("smtp_password_env names " + config->smtp_password_env +
                                     ", which is not set");
    }
    smtp.password = value;
  } else if (!config->smtp_password_file.empty()) {
    std::ifstream file(config->smtp_password_file, std::ios::binary);
    std::string line;
    if (!file || !std::getline(file, line)) {
      return Status::InvalidArgument("smtp_password_file " + config->smtp_password_file +
                                     " cannot be read");
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    smtp.password = line;
  }
  if (smtp.url.empty()) return Status();
  return alerts::CheckSmtpRelay(smtp).WithContext("config");
}

}  // namespace rectrack::cli
