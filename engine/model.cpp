#include "engine/model.h"

#include <algorithm>
#include <cctype>

namespace rectrack {

bool IsValidId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool Event::SameContent(const Event& other) const {
  return kind == other.kind && subject_id == other.subject_id && transition == other.transition &&
         effective == other.effective && role == other.role && body == other.body &&
         unit == other.unit && note == other.note && fields == other.fields &&
         attachments == other.attachments && body_def == other.body_def &&
         inspection_def == other.inspection_def && recommendation_def == other.recommendation_def &&
         unit_def == other.unit_def && action_def == other.action_def;
}

const char* SubjectKindName(SubjectKind kind) {
  switch (kind) {
    case SubjectKind::kBody:
      return "body";
    case SubjectKind::kInspection:
      return "inspection";
    case SubjectKind::kRecommendation:
      return "recommendation";
    case SubjectKind::kAction:
      return "action";
    case SubjectKind::kUnit:
      return "unit";
  }
  return "unknown";
}

std::optional<Date> NextDueNotMet(const RecommendationHead& head) {
  std::optional<Date> next;
  for (const MilestoneView& m : head.milestones) {
    if (!m.met && (!next || m.due < *next)) next = m.due;
  }
  return next;
}

std::string SubjectKindName(int stored) {
  return SubjectKindName(static_cast<SubjectKind>(stored));
}

}  // namespace rectrack
