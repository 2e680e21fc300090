// String helpers every library shares, one copy each: joining lists for messages, ASCII case
// folding, plain decimal numbers, and base64 (standard and URL-safe). Pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rectrack {

// "a, b, c" (or with `sep`); `if_empty` when `items` is empty.
std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ",
                 std::string_view if_empty = "");
// "1 recommendation", "3 recommendations": `n` and the noun, `plural` for other than one (the
// noun with "s" when not given: Plural(2, "body", "bodies")).
std::string Plural(size_t n, std::string_view noun, std::string_view plural = "");
// A name as people read it: "in progress" for in_progress, "body lead" for body_lead.
std::string Spoken(std::string name);
// `text` with its first letter a capital (ASCII): a message or a name that begins a sentence.
std::string Capitalised(std::string text);
// Whether `text` is empty or only spaces, tabs and line breaks: says nothing.
bool IsBlank(std::string_view text);
// ASCII lower case; bytes >= 0x80 (UTF-8) are left as they are.
std::string Lower(std::string_view text);
// `text` with every line break LF: CR LF (as browsers send a text area's) and a CR alone each
// become one LF.
std::string WithLfLineBreaks(std::string text);
// The items of a `separator`-separated list, each trimmed of spaces and tabs, empty ones
// dropped: "NPCC, CPS" -> {"NPCC", "CPS"}.
std::vector<std::string> SplitList(std::string_view text, char separator = ',');
// `text` as a number of 1 to `max_digits` decimal digits and nothing else (no sign, space or
// exponent), as query parameters and flags give counts; nullopt otherwise.
// REQUIRES: max_digits <= 18, so that every such number fits.
std::optional<int64_t> ParseDigits(std::string_view text, size_t max_digits);

// What the system said of error number `error` (an errno), as a message goes on:
// ": No space left on device"; "" for 0, when nothing was said.
std::string SystemReason(int error);

// Base64 with the standard alphabet and padding (RFC 4648 section 4).
std::string Base64Encode(std::string_view bytes);
// nullopt when `text` is not base64; missing padding is tolerated.
std::optional<std::string> Base64Decode(std::string_view text);
// The URL- and filename-safe alphabet (RFC 4648 section 5), without padding.
std::string Base64Url(std::string_view bytes);

}  // namespace rectrack
