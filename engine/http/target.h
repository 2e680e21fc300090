// A parsed request target, shared by the API's translation units. Private to engine/http.
#pragma once

#include <map>
#include <string>

namespace rectrack::http {

struct Target {
  std::string path;                          // percent-decoded
  std::map<std::string, std::string> query;  // decoded; each key at most once
};

}  // namespace rectrack::http
