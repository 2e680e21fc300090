// Small helpers for reading YAML strictly with positions. yaml-cpp's exceptions never leave the
// functions that use these helpers: they turn every problem into "file:line:col: what".
// Private to the engine library.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace rectrack::yaml {

// "file:line:col" of a node, 1-based as editors show it.
std::string Where(const std::string& source, const YAML::Node& node);
Status Error(const std::string& source, const YAML::Node& node, const std::string& what);

// Parses text holding at most one document; InvalidArgument with position on malformed YAML or
// a second document.
Result<YAML::Node> ParseDocument(std::string_view text, const std::string& source);

// yaml-cpp 0.7 never returns on a document whose first token is ',' (also after an anchor, a tag
// or comments): InvalidArgument "source:line:col: malformed YAML: a document cannot begin with
// ','" for such text, before any parser sees it. ParseDocument calls it; so does ReadMapping
// (yaml_stream.h), so that every YAML file is refused alike.
Status CheckDocumentStarts(std::string_view text, const std::string& source);

// Files rectrack reads (workflows, imports, config) are text of human size.
inline constexpr uintmax_t kMaxFileBytes = 64ull << 20;
// NotFound for a missing or non-regular file; InvalidArgument above kMaxFileBytes.
Result<std::string> ReadFile(const std::string& path);

// Visits a mapping's entries in file order, refusing duplicate keys and keys outside `allowed`
// (when non-empty). `what` names the mapping in errors ("transition", "state 'closed'").
Status ForEachEntry(const std::string& source, const YAML::Node& map, const std::string& what,
                    const std::set<std::string>& allowed,
                    const std::function<Status(const std::string& key, const YAML::Node& key_node,
                                               const YAML::Node& value)>& visit);

Result<std::string> Scalar(const std::string& source, const YAML::Node& node,
                           const std::string& what);
Result<bool> Bool(const std::string& source, const YAML::Node& node, const std::string& what);
// A sequence of scalars; a lone scalar is accepted as a one-element list when `allow_scalar`.
Result<std::vector<std::string>> ScalarList(const std::string& source, const YAML::Node& node,
                                            const std::string& what, bool allow_scalar = false);

}  // namespace rectrack::yaml
