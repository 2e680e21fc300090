// multipart/form-data (RFC 7578): how a client sends an event together with evidence files, and
// how a browser sends a form with a file field. The whole body is in memory already (the server
// bounds it by max_body_bytes); parts are views copied out once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rectrack::http {

struct FormPart {
  std::string name;          // Content-Disposition's name
  std::string filename;      // its filename; "" for a plain field
  std::string content_type;  // the part's Content-Type; "" when it has none
  std::string body;
};

// Whether `content_type` (a request's header, any case) is multipart/form-data.
// The media type of a Content-Type, without its parameters, trimmed and in lower case:
// "application/json" for "Application/JSON; charset=utf-8".
std::string MediaType(std::string_view content_type);
bool IsMultipartForm(std::string_view content_type);

// The parts of `body`, sent with `content_type` ("multipart/form-data; boundary=..."), in order.
// InvalidArgument saying what is wrong: no boundary, a body that does not start with it or ends
// before its closing boundary (cut off), a part without a form-data name, more than 64 parts or
// part headers over 8 KiB.
Result<std::vector<FormPart>> ParseMultipartForm(std::string_view content_type,
                                                 std::string_view body);

}  // namespace rectrack::http
