#include "engine/yaml_util.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "common/strings.h"

namespace rectrack::yaml {

std::string Where(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Status Error(const std::string& source, const YAML::Node& node, const std::string& what) {
  return Status::InvalidArgument(Where(source, node) + ": " + what);
}

// yaml-cpp 0.7 (Debian 12) never returns, and allocates without bound, when a document's first
// token is ',', also after node properties (an anchor or a tag) and comments: ",", "--- ,",
// "# note\n,", "&a ,", "!t,", "&a !t\n," (found by fuzz/import_fuzz). Such a document is not YAML
// anyway: refuse it before yaml-cpp sees it.
Status CheckDocumentStarts(std::string_view text, const std::string& source) {
  auto line_start = [&](size_t at) { return at == 0 || text[at - 1] == '\n'; };
  auto skip_line = [&](size_t at) { return std::min(text.find('\n', at), text.size()); };
  bool at_start = true;  // nothing but properties, comments and blanks yet in this document
  size_t i = 0;
  while (i < text.size()) {
    if (line_start(i) && (text.compare(i, 3, "---") == 0 || text.compare(i, 3, "...") == 0)) {
      at_start = true;
      i += 3;
      continue;
    }
    const char c = text[i];
    if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (!at_start || c == '#' || (c == '%' && line_start(i))) {
      i = skip_line(i);
    } else if (c == '&' || c == '!') {
      // A node property ends at a blank or ','; a verbatim tag "!<...>" may hold ','.
      if (text.compare(i, 2, "!<") == 0) {
        const size_t close = text.find('>', i);
        i = close == std::string_view::npos ? text.size() : close + 1;
      }
      while (i < text.size() &&
             std::string_view(" \t\r\n,").find(text[i]) == std::string_view::npos) {
        ++i;
      }
    } else if (c == ',') {
      const size_t line = std::count(text.begin(), text.begin() + i, '\n') + 1;
      const size_t column =
          i - (text.rfind('\n', i) == std::string_view::npos ? 0 : text.rfind('\n', i) + 1);
      return Status::InvalidArgument(source + ":" + std::to_string(line) + ":" +
                                     std::to_string(column + 1) +
                                     ": malformed YAML: a document cannot begin with ','");
    } else {
      at_start = false;
    }
  }
  return Status();
}

// Where each document starts, and nothing else: counts documents without building them.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// A second document needs a "---" or "..." line after the first line; most files have none.
bool MayHoldASecondDocument(std::string_view text) {
  for (size_t at = text.find('\n'); at != std::string_view::npos; at = text.find('\n', at + 1)) {
    if (text.compare(at + 1, 3, "---") == 0 || text.compare(at + 1, 3, "...") == 0) return true;
  }
  return false;
}

Result<YAML::Node> ParseDocument(std::string_view text, const std::string& source) {
  RETURN_IF_ERROR(CheckDocumentStarts(text, source));
  try {
    const std::string owned(text);
    // Never YAML::LoadAll: yaml-cpp 0.7's loop over documents never ends when a document's first
    // token is one no rule consumes (yaml-cpp PR #1319). Here the parser is asked for at most two
    // documents: the one wanted, and whether there is another.
    if (MayHoldASecondDocument(text)) {
      std::istringstream in(owned);
      YAML::Parser parser(in);
      DocumentStarts starts;
      if (parser.HandleNextDocument(starts) && parser.HandleNextDocument(starts) &&
          starts.starts.size() > 1) {
        const YAML::Mark& second = starts.starts[1];
        return Status::InvalidArgument(source + ":" + std::to_string(second.line + 1) + ":" +
                                       std::to_string(second.column + 1) +
                                       ": a file holds one YAML document; found a second");
      }
    }
    return YAML::Load(owned);
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
    const bool there = !ec && std::filesystem::exists(path, ec);
    return Status::NotFound("'" + path + "' is not a readable file" +
                            (there ? std::string(": it is a directory or a device")
                                   : SystemReason(ec ? ec.value() : ENOENT)));
  }
  if (std::filesystem::file_size(path, ec) > kMaxFileBytes) {
    return Status::InvalidArgument("'" + path + "' is larger than " +
                                   std::to_string(kMaxFileBytes >> 20) + " MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read '" + path + "'" + SystemReason(errno));
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
