#include "engine/event_codec.h"

#include <boost/json.hpp>

namespace rectrack {
namespace json = boost::json;

json::array JsonStrings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

namespace {

std::string Text(const json::object& obj, const char* key) {
  const json::value* v = obj.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<std::string> Strings(const json::value& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.emplace_back(v.get_string());
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      if (item.is_string()) out.emplace_back(item.get_string());
    }
  }
  return out;
}

}  // namespace

storage::EventRow EncodeEvent(const Event& e, const Workflow& workflow) {
  // Definitions live under "define" so decoding needs no knowledge of the workflow.
  json::object payload;
  json::object define;
  if (e.body_def) {
    define["name"] = e.body_def->name;
    define["short_name"] = e.body_def->short_name;
  } else if (e.inspection_def) {
    const Inspection& i = *e.inspection_def;
    define["title"] = i.title;
    define["short_title"] = i.short_title;
    define["published"] = i.published.ToString();
    define["kind"] = i.kind;
    define["follow_up_of"] = i.follow_up_of;
  } else if (e.unit_def) {
    define["body"] = e.unit_def->body;
    define["name"] = e.unit_def->name;
    define["kind"] = e.unit_def->kind;
  } else if (e.action_def) {
    const ActionDef& a = *e.action_def;
    define["recommendation"] = a.recommendation;
    define["title"] = a.title;
    define["body"] = a.body;
    define["unit"] = a.unit;
    define["due"] = a.due ? a.due->ToString() : "";
    define["milestone"] = a.milestone;
  } else if (e.recommendation_def) {
    const RecommendationDef& r = *e.recommendation_def;
    define["inspection"] = r.inspection;
    define["owners"] = JsonStrings(r.owners);
    define["text"] = r.text;
    json::array milestones;
    for (const auto& m : r.milestones) {
      milestones.push_back(json::object{{"label", m.label}, {"due", m.due.ToString()}});
    }
    define["milestones"] = std::move(milestones);
  }
  if (!define.empty()) payload["define"] = std::move(define);
  // Fields are a std::map, so their order is their name order.
  json::object fields;
  for (const auto& [name, values] : e.fields) {
    const FieldSpec* spec = workflow.FindField(name);
    if (spec && !spec->list && values.size() == 1) {
      fields[name] = values[0];
    } else {
      fields[name] = JsonStrings(values);
    }
  }
  if (!fields.empty()) payload["fields"] = std::move(fields);
  // The unit an actor acted for has no column of its own: rows from before units keep their
  // bytes (and so their hashes), and a row names a unit only when there is one.
  if (!e.unit.empty()) payload["unit"] = e.unit;
  // Evidence files by hash: the chain covers their bytes through it. Only when there are some,
  // so rows from before evidence files keep their bytes.
  if (!e.attachments.empty()) {
    json::array files;
    for (const Attachment& a : e.attachments) {
      files.push_back(json::object{
          {"sha256", a.sha256}, {"name", a.name}, {"media_type", a.media_type}, {"size", a.size}});
    }
    payload["attachments"] = std::move(files);
  }

  storage::EventRow row;
  row.kind = static_cast<int>(e.kind);
  row.subject_id = e.subject_id;
  row.transition = e.transition;
  row.effective = e.effective.ToString();
  row.recorded = e.recorded;
  row.actor = e.actor;
  row.role = e.role;
  row.body = e.body;
  row.note = e.note;
  row.payload = json::serialize(payload);
  return row;
}

namespace {

// DecodeEvent's work, for a row or a view of one.
template <typename Row>
Result<Event> Decode(const Row& row) {
  // Said only on an error, so that decoding a good row builds no message.
  auto where = [&row] { return "event " + std::to_string(row.seq); };
  auto effective = Date::Parse(row.effective);
  if (!effective) {
    return Status::Corruption(where() + ": bad effective date '" + std::string(row.effective) +
                              "'");
  }
  if (SubjectKindName(row.kind) == "unknown") {
    return Status::Corruption(where() + ": unknown kind " + std::to_string(row.kind));
  }
  Event e;
  e.seq = row.seq;
  e.kind = static_cast<SubjectKind>(row.kind);
  e.subject_id = row.subject_id;
  e.transition = row.transition;
  e.effective = *effective;
  e.recorded = row.recorded;
  e.actor = row.actor;
  e.role = row.role;
  e.body = row.body;
  e.note = row.note;

  // A payload is small (a definition's text at most): parsed into a buffer on the stack, its
  // values cost no allocation of their own (the storage grows onto the heap beyond it).
  unsigned char buffer[4096];
  json::monotonic_resource parsing(buffer, sizeof buffer);
  json::error_code ec;
  json::value parsed = json::parse(row.payload, ec, &parsing);
  if (ec || !parsed.is_object()) {
    return Status::Corruption(where() + ": payload is not a JSON object");
  }
  const json::object& payload = parsed.get_object();
  if (const json::value* fields = payload.if_contains("fields"); fields && fields->is_object()) {
    for (const auto& [name, value] : fields->get_object()) {
      e.fields[std::string(name)] = Strings(value);
    }
  }
  e.unit = Text(payload, "unit");
  if (const json::value* files = payload.if_contains("attachments")) {
    if (!files->is_array()) return Status::Corruption(where() + ": bad attachments");
    for (const json::value& file : files->get_array()) {
      const json::value* size = file.is_object() ? file.get_object().if_contains("size") : nullptr;
      if (!size || !size->is_int64()) return Status::Corruption(where() + ": bad attachment");
      const json::object& f = file.get_object();
      e.attachments.push_back(
          {Text(f, "sha256"), Text(f, "name"), Text(f, "media_type"), size->get_int64()});
    }
  }
  const json::value* define_value = payload.if_contains("define");
  if (!define_value) return e;
  if (!define_value->is_object()) return Status::Corruption(where() + ": bad definition");
  const json::object& define = define_value->get_object();
  if (e.kind == SubjectKind::kBody) {
    e.body_def =
        Body{std::string(row.subject_id), Text(define, "name"), Text(define, "short_name")};
  } else if (e.kind == SubjectKind::kInspection) {
    auto published = Date::Parse(Text(define, "published"));
    if (!published) return Status::Corruption(where() + ": bad published date");
    e.inspection_def = Inspection{std::string(row.subject_id), Text(define, "title"),
                                  Text(define, "short_title"), *published,
                                  Text(define, "kind"),        Text(define, "follow_up_of")};
  } else if (e.kind == SubjectKind::kUnit) {
    e.unit_def = Unit{std::string(row.subject_id), Text(define, "body"), Text(define, "name"),
                      Text(define, "kind")};
  } else if (e.kind == SubjectKind::kAction) {
    ActionDef def{Text(define, "recommendation"), Text(define, "title"), Text(define, "body"),
                  Text(define, "unit"),           std::nullopt,          Text(define, "milestone")};
    if (const std::string due = Text(define, "due"); !due.empty()) {
      def.due = Date::Parse(due);
      if (!def.due) return Status::Corruption(where() + ": bad action due date");
    }
    e.action_def = std::move(def);
  } else {
    RecommendationDef def;
    def.inspection = Text(define, "inspection");
    if (const json::value* owners = define.if_contains("owners")) def.owners = Strings(*owners);
    def.text = Text(define, "text");
    if (const json::value* ms = define.if_contains("milestones"); ms && ms->is_array()) {
      for (const auto& m : ms->get_array()) {
        if (!m.is_object()) return Status::Corruption(where() + ": bad milestone");
        auto due = Date::Parse(Text(m.get_object(), "due"));
        if (!due) return Status::Corruption(where() + ": bad milestone due date");
        def.milestones.push_back({Text(m.get_object(), "label"), *due});
      }
    }
    e.recommendation_def = std::move(def);
  }
  return e;
}

}  // namespace

Result<Event> DecodeEvent(const storage::EventRow& row) { return Decode(row); }

Result<Event> DecodeEvent(const storage::EventRowView& row) { return Decode(row); }

}  // namespace rectrack
