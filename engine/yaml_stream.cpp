#include "engine/yaml_stream.h"

#include <yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "engine/yaml_util.h"

namespace rectrack::yaml {

const Value* Value::Find(std::string_view key) const {
  if (!IsMap()) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].IsScalar() && items[i].text == key) return &items[i + 1];
  }
  return nullptr;
}

std::string Where(const std::string& source, const Value& node) {
  return source + ":" + std::to_string(node.line + 1) + ":" + std::to_string(node.column + 1);
}

Status Error(const std::string& source, const Value& node, const std::string& what) {
  return Status::InvalidArgument(Where(source, node) + ": " + what);
}

Status ForEachEntry(
    const std::string& source, const Value& map, const std::string& what,
    const std::set<std::string>& allowed,
    const std::function<Status(const std::string&, const Value&, const Value&)>& visit) {
  if (!map.IsMap()) return Error(source, map, what + " must be a mapping");
  for (size_t i = 0; i + 1 < map.items.size(); i += 2) {
    const Value& key = map.items[i];
    if (!key.IsScalar()) return Error(source, key, what + ": keys must be names");
    if (!allowed.empty() && !allowed.count(key.text)) {
      std::string known;
      for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
      return Error(source, key,
                   "unknown key '" + key.text + "' in " + what + " (known: " + known + ")");
    }
    // The keys before this one: a scan, as a mapping here has a handful (and `visit` refuses the
    // keys it does not know, so a long one stops at its first stranger).
    for (size_t j = 0; j < i; j += 2) {
      if (map.items[j].text == key.text) {
        return Error(source, key, "duplicate key '" + key.text + "' in " + what);
      }
    }
    RETURN_IF_ERROR(visit(key.text, key, map.items[i + 1]));
  }
  return Status();
}

Result<std::string> Scalar(const std::string& source, const Value& node, const std::string& what) {
  if (!node.IsScalar()) return Error(source, node, what + " must be a single value");
  return node.text;
}

Result<std::vector<std::string>> ScalarList(const std::string& source, const Value& node,
                                            const std::string& what, bool allow_scalar) {
  std::vector<std::string> out;
  if (allow_scalar && node.IsScalar()) {
    out.push_back(node.text);
    return out;
  }
  if (!node.IsSequence()) return Error(source, node, what + " must be a list");
  for (const Value& item : node.items) {
    if (!item.IsScalar()) return Error(source, item, what + ": each entry must be a single value");
    out.push_back(item.text);
  }
  return out;
}

bool DecodeBool(const Value& node, bool& value) {
  if (!node.IsScalar() || node.text.empty()) return false;
  const std::string& s = node.text;
  // "true", "TRUE" and "True", as yaml-cpp: not "tRUE".
  auto lower_case = [](char c) { return std::islower(static_cast<unsigned char>(c)) != 0; };
  auto upper_case = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
  const bool rest_lower = std::all_of(s.begin() + 1, s.end(), lower_case);
  const bool all_upper = std::all_of(s.begin(), s.end(), upper_case);
  if (!rest_lower && !all_upper) return false;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* yes : {"y", "yes", "true", "on"}) {
    if (lower == yes) return value = true, true;
  }
  for (const char* no : {"n", "no", "false", "off"}) {
    if (lower == no) return value = false, true;
  }
  return false;
}

namespace {

// Nesting deeper than this is no import file: refused before a tree that deep is built (and
// destroyed, recursively).
constexpr size_t kMaxDepth = 64;
// Anchors keep a copy of their node and aliases copy it again: what both may hold in all, so
// that "billion laughs" (each alias multiplying the one before) or one large text aliased many
// times is refused rather than built.
constexpr size_t kMaxAnchoredBytes = 64u << 20;

// What a copy of `v` costs (its nodes and texts), and how deep it nests (a scalar: 0).
struct Extent {
  size_t bytes = 0;
  size_t depth = 0;
};
Extent ExtentOf(const Value& v) {
  Extent e{sizeof(Value) + v.text.size(), 0};
  for (const Value& item : v.items) {
    const Extent inner = ExtentOf(item);
    e.bytes += inner.bytes;
    e.depth = std::max(e.depth, inner.depth + 1);
  }
  return e;
}

// libyaml's parser and event, freed whatever happens.
struct Parser {
  yaml_parser_t parser;
  Parser() { yaml_parser_initialize(&parser); }
  ~Parser() { yaml_parser_delete(&parser); }
};
struct Event {
  yaml_event_t event;
  bool held = false;
  ~Event() { Reset(); }
  void Reset() {
    if (held) yaml_event_delete(&event);
    held = false;
  }
};

std::string Text(const yaml_char_t* s, size_t length) {
  return s ? std::string(reinterpret_cast<const char*>(s), length) : std::string();
}
std::string Text(const yaml_char_t* s) {
  return s ? std::string(reinterpret_cast<const char*>(s)) : std::string();
}

Value At(Value::Kind kind, const yaml_mark_t& mark) {
  Value v;
  v.kind = kind;
  v.line = static_cast<int>(mark.line);
  v.column = static_cast<int>(mark.column);
  return v;
}

bool IsPlainNull(const yaml_event_t& e) {
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !e.data.scalar.plain_implicit) {
    return false;
  }
  const std::string_view s(reinterpret_cast<const char*>(e.data.scalar.value),
                           e.data.scalar.length);
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Builds nodes from events; the root mapping's lists are handed to the reader entry by entry.
class Builder {
 public:
  Builder(const std::string& source, MappingReader& reader) : source_(source), reader_(reader) {}

  Status Read(std::string_view text) {
    Parser p;
    yaml_parser_set_input_string(&p.parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    Event e;
    int documents = 0;
    for (;;) {
      e.Reset();
      if (!yaml_parser_parse(&p.parser, &e.event)) return Malformed(p.parser, text);
      e.held = true;
      const yaml_event_t& ev = e.event;
      switch (ev.type) {
        case YAML_STREAM_END_EVENT:
          if (documents == 0) return reader_.OnNotAMapping(Value());
          return Status();
        case YAML_DOCUMENT_START_EVENT:
          if (++documents > 1) {
            return Error(source_, At(Value::Kind::kNull, ev.start_mark),
                         "a file holds one YAML document; found a second");
          }
          break;
        case YAML_SCALAR_EVENT: {
          Value v = At(IsPlainNull(ev) ? Value::Kind::kNull : Value::Kind::kScalar, ev.start_mark);
          if (v.IsScalar()) v.text = Text(ev.data.scalar.value, ev.data.scalar.length);
          RETURN_IF_ERROR(Complete(std::move(v), Text(ev.data.scalar.anchor), false));
          break;
        }
        case YAML_ALIAS_EVENT: {
          const std::string anchor = Text(ev.data.alias.anchor);
          auto it = anchors_.find(anchor);
          if (it == anchors_.end()) {
            return Error(source_, At(Value::Kind::kNull, ev.start_mark),
                         "malformed YAML: no anchor '" + anchor + "' before this alias");
          }
          const Value at = At(Value::Kind::kNull, ev.start_mark);
          const Anchor& anchored = it->second;
          RETURN_IF_ERROR(Spend(anchored.extent.bytes, at));
          // The copy lands where the alias is: held to the same depth as any node.
          if (stack_.size() + anchored.extent.depth >= kMaxDepth) {
            return Error(source_, at,
                         "nested deeper than " + std::to_string(kMaxDepth) + " levels");
          }
          Value copy = *anchored.node;
          copy.line = at.line;
          copy.column = at.column;
          RETURN_IF_ERROR(Complete(std::move(copy), "", false));
          break;
        }
        case YAML_SEQUENCE_START_EVENT:
          RETURN_IF_ERROR(
              Open(At(Value::Kind::kSequence, ev.start_mark), Text(ev.data.sequence_start.anchor)));
          break;
        case YAML_MAPPING_START_EVENT:
          RETURN_IF_ERROR(
              Open(At(Value::Kind::kMap, ev.start_mark), Text(ev.data.mapping_start.anchor)));
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
          Frame done = std::move(stack_.back());
          stack_.pop_back();
          RETURN_IF_ERROR(Complete(std::move(done.node), done.anchor, done.streamed));
          break;
        }
        default:  // stream start, document end
          break;
      }
    }
  }

 private:
  struct Frame {
    Value node;
    std::string anchor;
    bool streamed = false;  // a top-level list whose entries go to the reader, not into `node`
  };

  Status Malformed(const yaml_parser_t& parser, std::string_view text) {
    std::string what = parser.problem ? parser.problem : "cannot be read";
    if (parser.context) what += std::string(" (") + parser.context + ")";
    if (parser.error != YAML_READER_ERROR) {
      return Error(source_, At(Value::Kind::kNull, parser.problem_mark), "malformed YAML: " + what);
    }
    // Bytes that are not text (bad UTF-8, control characters): libyaml gives their offset.
    Value at;
    const size_t offset = std::min(parser.problem_offset, text.size());
    at.line = static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
    const size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
    const size_t from = line_start == std::string_view::npos || offset == 0 ? 0 : line_start + 1;
    // Characters, not bytes, as libyaml counts every other column.
    at.column = static_cast<int>(std::count_if(text.begin() + from, text.begin() + offset,
                                               [](char c) { return (c & 0xC0) != 0x80; }));
    return Error(source_, at, "not UTF-8 text: " + what);
  }

  // Counts `bytes` more held for anchors and aliases; an error at `at` past kMaxAnchoredBytes.
  Status Spend(size_t bytes, const Value& at) {
    anchored_bytes_ += bytes;
    if (anchored_bytes_ <= kMaxAnchoredBytes) return Status();
    return Error(
        source_, at,
        "anchors and aliases copy more than " + std::to_string(kMaxAnchoredBytes >> 20) + " MiB");
  }

  // The root mapping is at the bottom of the stack while it is read.
  bool InRoot() const { return stack_.size() == 1; }

  Status Open(Value node, std::string anchor) {
    if (stack_.empty() && !node.IsMap()) return reader_.OnNotAMapping(node);
    if (stack_.size() >= kMaxDepth) {
      return Error(source_, node, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    Frame frame{std::move(node), std::move(anchor), false};
    // A list under a top-level key is read entry by entry, unless an alias may want it whole.
    if (InRoot() && key_ && frame.node.IsSequence() && frame.anchor.empty()) {
      frame.streamed = true;
      RETURN_IF_ERROR(reader_.OnList(*key_, frame.node));
    }
    stack_.push_back(std::move(frame));
    return Status();
  }

  Status Complete(Value v, const std::string& anchor, bool streamed) {
    if (!anchor.empty()) {
      const Extent extent = ExtentOf(v);
      RETURN_IF_ERROR(Spend(extent.bytes, v));
      anchors_[anchor] = Anchor{std::make_shared<const Value>(v), extent};
    }
    if (stack_.empty()) {
      // The root: a mapping is done; anything else is not an import file.
      return v.IsMap() ? Status() : reader_.OnNotAMapping(v.IsNull() ? Value() : v);
    }
    if (InRoot()) {
      if (!key_) {
        key_ = std::move(v);
        return reader_.OnKey(*key_);
      }
      const Value key = std::move(*key_);
      key_.reset();
      return streamed ? Status() : reader_.OnValue(key, v);
    }
    if (stack_.back().streamed) return reader_.OnEntry(*key_, v);
    stack_.back().node.items.push_back(std::move(v));
    return Status();
  }

  const std::string& source_;
  MappingReader& reader_;
  std::vector<Frame> stack_;
  std::optional<Value> key_;  // the top-level key whose value is being read
  struct Anchor {
    std::shared_ptr<const Value> node;
    Extent extent;
  };
  std::map<std::string, Anchor> anchors_;
  size_t anchored_bytes_ = 0;  // held by anchors and spent on aliases' copies
};

}  // namespace

Status ReadMapping(std::string_view text, const std::string& source, MappingReader& reader) {
  // yaml_util.h refuses these for yaml-cpp's sake; import files get the same message.
  RETURN_IF_ERROR(CheckDocumentStarts(text, source));
  return Builder(source, reader).Read(text);
}

}  // namespace rectrack::yaml
