// Reading milestones out of a recommendation's text, as inspection reports write them.
//
//   "By March 2024, the CPS to ..."                       -> 2024-03-31 (a month means its last
//   day) "By 30 September 2024, the NPCC and the CPS ..."      -> 2024-09-30 "By December 2023 ...
//   To be embedded by March 2024."  -> 2023-12-31, 2024-03-31 "By 31 July 2025 to have designed ...
//   By 31 March 2026 to have implemented ..." -> two
//
// Only explicit calendar dates count. Vague timing ("Spring 2026", "early 2026", "within six
// months", a bare year) gives no milestone: rectrack never guesses a deadline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/date.h"
#include "common/status.h"

namespace rectrack {

struct TextMilestone {
  std::string label;  // a short name for the step: the verb that follows ("designed",
                      // "implemented", "embedded") when there is one, else "m1", "m2", ...
  Date due;
  std::string phrase;  // the words the date was read from, e.g. "By 31 July 2025"
};

// Milestones in order of appearance, labels unique within the result. Errors: InvalidArgument
// when the text names a date that does not exist ("by 31 September 2024"), quoting the phrase.
Result<std::vector<TextMilestone>> MilestonesFromText(std::string_view text);

}  // namespace rectrack
