// Reading a large YAML mapping of lists a piece at a time (libyaml's event parser), for import
// files: each entry of a top-level list is built as a small tree (yaml::Value), handed to the
// reader, and dropped, so a file of 100,000 recommendations is never held as one tree. yaml-cpp
// (yaml_util.h) stays for the small files (workflows, rules, config): its tree of a 37 MB
// import took 12 s and 1.7 GB, libyaml's events of the same file 1.8 s and 40 MB.
// Private to the engine library.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rectrack::yaml {

// One YAML node with its position: a scalar, a null (a plain "", "~", "null"), a sequence or a
// mapping. Aliases are read as copies of their anchor's node; tags are ignored, as yaml-cpp's
// Scalar() ignores them.
struct Value {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string text;          // a scalar's text
  std::vector<Value> items;  // a sequence's entries; a mapping's keys and values, alternating
  int line = 0;              // 0-based, as libyaml's and yaml-cpp's marks
  int column = 0;

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMap() const { return kind == Kind::kMap; }
  // A mapping's value for the scalar key `key`; null when there is none (or this is no mapping).
  const Value* Find(std::string_view key) const;
};

// "file:line:col", 1-based as editors show it.
std::string Where(const std::string& source, const Value& node);
Status Error(const std::string& source, const Value& node, const std::string& what);

// As yaml_util.h's functions of the same names, on a Value.
Status ForEachEntry(const std::string& source, const Value& map, const std::string& what,
                    const std::set<std::string>& allowed,
                    const std::function<Status(const std::string& key, const Value& key_node,
                                               const Value& value)>& visit);
Result<std::string> Scalar(const std::string& source, const Value& node, const std::string& what);
Result<std::vector<std::string>> ScalarList(const std::string& source, const Value& node,
                                            const std::string& what, bool allow_scalar = false);
// YAML 1.1's booleans as yaml-cpp reads them: y/yes/true/on and n/no/false/off, in lower, upper
// or capitalised case. False when `node` is none of them.
bool DecodeBool(const Value& node, bool& value);

// What the document's top level holds, told in file order while it is read.
class MappingReader {
 public:
  virtual ~MappingReader() = default;
  // The document's root is not a mapping (or the document is empty: then `root` is a null at
  // line 0, column 0). Only its kind and position are given; nothing more is read.
  virtual Status OnNotAMapping(const Value& root) = 0;
  // A top-level key; `key` may be any node (the reader decides what it accepts).
  virtual Status OnKey(const Value& key) = 0;
  // A top-level value that is not a list, whole.
  virtual Status OnValue(const Value& key, const Value& value) = 0;
  // A top-level value that is a list: its start (`list` holds no items), then each entry.
  virtual Status OnList(const Value& key, const Value& list) = 0;
  virtual Status OnEntry(const Value& key, const Value& entry) = 0;
};

// Reads `text` (at most one YAML document) into `reader`, stopping at the first error: the
// reader's, or InvalidArgument "source:line:col: malformed YAML: ..." for text that is not YAML
// (or "...: a file holds one YAML document; found a second").
Status ReadMapping(std::string_view text, const std::string& source, MappingReader& reader);

}  // namespace rectrack::yaml
