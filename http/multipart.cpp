#include "http/multipart.h"

#include <optional>

#include "common/strings.h"

namespace rectrack::http {
namespace {

constexpr size_t kMaxParts = 64;
constexpr size_t kMaxPartHead = 8 * 1024;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of parameter `name` in a header value's "; name=value" list, unquoted; nullopt when
// it is absent. A quoted value may hold ';' and backslash-escaped '"' and '\\'.
std::optional<std::string> Parameter(std::string_view header, std::string_view name) {
  std::vector<std::string> params(1);
  bool quoted = false;
  for (size_t i = 0; i < header.size(); ++i) {
    const char c = header[i];
    if (quoted && c == '\\' && i + 1 < header.size()) {
      params.back() += header[++i];
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ';' && !quoted) {
      params.emplace_back();
    } else {
      params.back() += c;
    }
  }
  for (size_t i = 1; i < params.size(); ++i) {  // params[0] is the value itself
    const size_t eq = params[i].find('=');
    if (eq == std::string::npos) continue;
    if (Lower(Trim(std::string_view(params[i]).substr(0, eq))) == name) {
      return std::string(Trim(std::string_view(params[i]).substr(eq + 1)));
    }
  }
  return std::nullopt;
}

Status ParseHead(std::string_view head, FormPart* part) {
  bool form_data = false;
  while (!head.empty()) {
    const size_t end = head.find("\r\n");
    const std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view() : head.substr(end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("a part's header line has no ':'");
    }
    const std::string field = Lower(Trim(line.substr(0, colon)));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (field == "content-disposition") {
      form_data = Lower(value.substr(0, value.find(';'))) == "form-data";
      part->name = Parameter(value, "name").value_or("");
      part->filename = Parameter(value, "filename").value_or("");
    } else if (field == "content-type") {
      part->content_type = std::string(value);
    }
  }
  if (!form_data || part->name.empty()) {
    return Status::InvalidArgument("each part needs Content-Disposition: form-data; name=\"...\"");
  }
  return Status();
}

}  // namespace

std::string MediaType(std::string_view content_type) {
  return Lower(Trim(content_type.substr(0, content_type.find(';'))));
}

bool IsMultipartForm(std::string_view content_type) {
  return MediaType(content_type) == "multipart/form-data";
}

Result<std::vector<FormPart>> ParseMultipartForm(std::string_view content_type,
                                                 std::string_view body) {
  const std::string boundary = Parameter(content_type, "boundary").value_or("");
  if (boundary.empty() || boundary.size() > 70) {
    return Status::InvalidArgument("multipart/form-data needs a boundary of 1 to 70 characters");
  }
  const std::string delimiter = "--" + boundary;
  // The first delimiter may follow a preamble; every later one starts a line.
  size_t at = body.find(delimiter);
  if (at == std::string_view::npos || (at != 0 && (at < 2 || body.substr(at - 2, 2) != "\r\n"))) {
    return Status::InvalidArgument("the body does not start with its boundary");
  }
  const std::string next = "\r\n" + delimiter;
  std::vector<FormPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(at, 2) != "\r\n") {
      return Status::InvalidArgument("a boundary must end its line");
    }
    at += 2;
    if (parts.size() == kMaxParts) {
      return Status::InvalidArgument("more than " + std::to_string(kMaxParts) + " parts");
    }
    const size_t head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos || head_end - at > kMaxPartHead) {
      return Status::InvalidArgument(head_end == std::string_view::npos
                                         ? "the body ends inside a part's headers: it was cut off"
                                         : "a part's headers are over " +
                                               std::to_string(kMaxPartHead) + " bytes");
    }
    FormPart part;
    RETURN_IF_ERROR(ParseHead(body.substr(at, head_end - at), &part));
    const size_t content = head_end + 4;
    const size_t end = body.find(next, content);
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("part '" + part.name +
                                     "' has no closing boundary: the body was cut off");
    }
    part.body = std::string(body.substr(content, end - content));
    parts.push_back(std::move(part));
    at = end + 2;
  }
}

}  // namespace rectrack::http
