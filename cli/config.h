// The configuration of `rectrack serve`: defaults, then a YAML file (--config), then RECTRACK_*
// environment variables, then command-line flags, each overriding the one before.
//
// File keys and their variables: listen (RECTRACK_LISTEN), threads, history_cache_mb (N, 16 by
// default: histories read back from the item index when asked for, N MB of them cached,
// Engine::KeepHistoriesOut; 0: every history held in memory), max_connections,
// max_connections_per_address, header_timeout_seconds, max_body_bytes, max_header_bytes,
// timeout_seconds, rate_per_minute, rate_bytes_per_minute; max_note_bytes, max_text_bytes,
// max_field_bytes (engine/commands.h: TextLimits); max_evidence_file_bytes, max_evidence_bytes,
// max_evidence_bytes_per_day, evidence_types (a list of media types; engine/commands.h:
// EvidenceLimits); public_read (true|false), gov_uk (true|false), secure_cookies (true|false),
// db, workflow; for alerts: public_url (links in alerts), webhook_allow (hosts webhooks may go
// to: a list, or "a, b"), webhook_timeout_seconds, smtp_url (smtp://host:port with STARTTLS
// required, or smtps://host:port), smtp_plain (true: no TLS, for a relay on this machine only),
// smtp_user, smtp_password_env or smtp_password_file, smtp_ca_file, smtp_from; for documents:
// pandoc and weasyprint (the programs), document_timeout_seconds, documents_at_once,
// reference_docx and reference_odt (house styles). The variable is RECTRACK_ and the key in
// capitals. Unknown keys are errors.
#pragma once

#include <set>
#include <string>

#include "alerts/alerting.h"
#include "common/status.h"
#include "engine/commands.h"
#include "engine/documents.h"
#include "http/api.h"
#include "http/server.h"

namespace rectrack::cli {

struct ServeConfig {
  http::ServerOptions server;
  http::ApiOptions api;
  std::string db;        // "" leaves the CLI's default
  std::string workflow;  // "" leaves the CLI's default
  alerts::AlertingOptions alerting;
  ConverterOptions documents;  // DOCX, ODT and PDF: which programs, how long, how many at once
  TextLimits text_limits;      // how much text one event may store
  // N: `serve` keeps histories out of memory, caching N MB of those read back
  // (Engine::KeepHistoriesOut): half the memory at 100,000, writes as fast. 0: it holds every
  // history in memory, as rectrack did before (more memory, a quicker first past-date answer).
  long long history_cache_mb = 16;
  // Mark the web workspace's session cookie Secure: set it when people reach the server over
  // TLS (through a proxy, deploy/nginx-tls.conf). An https public_url sets it too.
  bool secure_cookies = false;
  // Roles whose web accounts must sign in with a second factor (TOTP), e.g. "inspectorate".
  std::set<std::string> second_factor_roles;
  // The service runs on gov.uk: the web workspace uses GDS Transport (licensed for gov.uk
  // services only) instead of the system font stack.
  bool gov_uk = false;
  // Where the SMTP password comes from (never the YAML itself): an environment variable's name,
  // or a file whose first line it is. ResolveSmtpPassword reads it into alerting.smtp.
  std::string smtp_password_env;
  std::string smtp_password_file;
};

Status LoadConfigFile(const std::string& path, ServeConfig* config);
// Reads RECTRACK_<KEY> variables through `getenv` (injectable for tests).
Status ApplyEnvironment(ServeConfig* config, const char* (*getenv)(const char*));
// Every command's text limits from RECTRACK_MAX_NOTE_BYTES, RECTRACK_MAX_TEXT_BYTES and
// RECTRACK_MAX_FIELD_BYTES, and its evidence limits from RECTRACK_MAX_EVIDENCE_FILE_BYTES,
// RECTRACK_MAX_EVIDENCE_BYTES and RECTRACK_EVIDENCE_TYPES (a CLI import is held to what the
// server holds a client to).
Status ApplyTextLimitsEnvironment(TextLimits* limits, const char* (*getenv)(const char*));
// The document converters of every other command (`report --format docx`) from RECTRACK_PANDOC,
// RECTRACK_WEASYPRINT, RECTRACK_DOCUMENT_TIMEOUT_SECONDS, RECTRACK_REFERENCE_DOCX and
// RECTRACK_REFERENCE_ODT, as serve reads them.
Status ApplyDocumentsEnvironment(ConverterOptions* documents, const char* (*getenv)(const char*));
// Reads the SMTP password from smtp_password_env or smtp_password_file and checks the relay's
// settings as a whole (alerts::CheckSmtpRelay): InvalidArgument naming what is wrong, such as an
// unset variable or a user without a password.
Status ResolveSmtpPassword(ServeConfig* config, const char* (*getenv)(const char*));

}  // namespace rectrack::cli
