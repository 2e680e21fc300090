// The OpenAPI 3 description of the HTTP API (docs/openapi.yaml), compiled into the binary so
// GET /openapi.yaml always describes the server that answers it.
#pragma once

#include <string_view>

namespace rectrack::http {

std::string_view OpenApiDocument();

}  // namespace rectrack::http
