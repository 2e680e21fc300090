#include "http/wire.h"

#include <boost/beast/http/status.hpp>
#include <string>
#include <string_view>

#include "http/server.h"

namespace rectrack::http {
namespace {

// Appends `value`, any CR, LF or NUL in it replaced by a space, so a header cannot end early.
void AppendFieldValue(std::string_view value, std::string* out) {
  const size_t from = out->size();
  out->append(value);
  for (size_t i = from; i < out->size(); ++i) {
    char& c = (*out)[i];
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
}

}  // namespace

// Written by hand into a buffer the session keeps: Beast's fields allocate once per field, and
// its serializer costs more than the few lines it would write.
void WriteResponseHead(const Response& response, bool keep_alive, size_t length, std::string* out) {
  out->clear();
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
  out->append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  out->append(reason.data(), reason.size()).append("\r\nServer: rectrack\r\n");
  const auto field = [out](std::string_view name, std::string_view value) {
    AppendFieldValue(name, out);
    out->append(": ");
    AppendFieldValue(value, out);
    out->append("\r\n");
  };
  if (!response.content_type.empty()) field("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) {
    // The framing is the server's alone: a handler's copy would contradict it.
    if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding") ||
        beast::iequals(name, "Connection")) {
      continue;
    }
    field(name, value);
  }
  const int status = response.status;
  if (status >= 200 && status != 204 && status != 304) {
    field("Content-Length", std::to_string(length));
  }
  if (!keep_alive) out->append("Connection: close\r\n");
  out->append("\r\n");
}

}  // namespace rectrack::http
