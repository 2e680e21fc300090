#include "engine/yaml_util.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace rectrack::yaml {

std::string Where(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Status Error(const std::string& source, const YAML::Node& node, const std::string& what) {
  return Status::InvalidArgument(Where(source, node) + ": " + what);
}

namespace {

// yaml-cpp 0.7 (Debian 12) never returns, and allocates without bound, when a document's first
// token is ',' (",", "--- ,", "# note\n,"; found by fuzz/import_fuzz). Such a document is not
// YAML anyway: refuse it before yaml-cpp sees it.
Status CheckDocumentStarts(std::string_view text, const std::string& source) {
  bool at_start = true;
  size_t line_number = 0;
  for (size_t begin = 0; begin <= text.size(); ++line_number) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    const std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    size_t from = 0;  // after a document marker, what follows it on its line
    if (line.rfind("---", 0) == 0 || line.rfind("...", 0) == 0) {
      at_start = true;
      from = 3;
    }
    if (!at_start) continue;
    const size_t first = line.find_first_not_of(" \t\r", from);
    if (first == std::string_view::npos || line[first] == '#' || line[first] == '%') continue;
    if (line[first] == ',') {
      return Status::InvalidArgument(source + ":" + std::to_string(line_number + 1) + ":" +
                                     std::to_string(first + 1) +
                                     ": malformed YAML: a document cannot begin with ','");
    }
    at_start = false;
  }
  return Status();
}

}  // namespace

Result<YAML::Node> ParseDocument(std::string_view text, const std::string& source) {
  RETURN_IF_ERROR(CheckDocumentStarts(text, source));
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.size() > 1) {
      return Error(source, documents[1], "a file holds one YAML document; found a second");
    }
    return documents.empty() ? YAML::Node() : documents[0];
  } catch (const YAML::Exception& e) {
    std::string where = source;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Status::InvalidArgument(where + ": malformed YAML: " + e.msg);
  }
}

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound("'" + path + "' is not a readable file");
  }
  if (std::filesystem::file_size(path, ec) > kMaxFileBytes) {
    return Status::InvalidArgument("'" + path + "' is larger than " +
                                   std::to_string(kMaxFileBytes >> 20) + " MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("error reading '" + path + "'");
  return text.str();
}

Status ForEachEntry(
    const std::string& source, const YAML::Node& map, const std::string& what,
    const std::set<std::string>& allowed,
    const std::function<Status(const std::string&, const YAML::Node&, const YAML::Node&)>& visit) {
  if (!map.IsMap()) return Error(source, map, what + " must be a mapping");
  std::set<std::string> seen;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) return Error(source, entry.first, what + ": keys must be names");
    const std::string key = entry.first.Scalar();
    if (!allowed.empty() && !allowed.count(key)) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      return Error(source, entry.first,
                   "unknown key '" + key + "' in " + what + " (known: " + known + ")");
    }
    if (!seen.insert(key).second) {
      return Error(source, entry.first, "duplicate key '" + key + "' in " + what);
    }
    RETURN_IF_ERROR(visit(key, entry.first, entry.second));
  }
  return Status();
}

Result<std::string> Scalar(const std::string& source, const YAML::Node& node,
                           const std::string& what) {
  if (!node.IsScalar()) return Error(source, node, what + " must be a single value");
  return node.Scalar();
}

Result<bool> Bool(const std::string& source, const YAML::Node& node, const std::string& what) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Error(source, node, what + " must be true or false");
}

Result<std::vector<std::string>> ScalarList(const std::string& source, const YAML::Node& node,
                                            const std::string& what, bool allow_scalar) {
  std::vector<std::string> out;
  if (allow_scalar && node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return Error(source, node, what + " must be a list");
  for (const auto& item : node) {
    if (!item.IsScalar()) return Error(source, item, what + ": each entry must be a single value");
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace rectrack::yaml
