// What the API tests share: reading an Api Response (headers, JSON members) and checking that it
// is an RFC 9457 problem.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "http/api.h"

namespace rectrack::http {

inline std::string HeaderOf(const Response& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return "";
}

inline boost::json::value ParseJson(const std::string& text) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) ADD_FAILURE() << "not JSON: " << text;
  return v;
}

inline std::string Str(const boost::json::value& v, const char* key) {
  return std::string(v.as_object().at(key).as_string());
}

// The problem's "field" (the input it is about), or "" when it names none.
inline std::string ProblemField(const Response& r) {
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("field")) return "";
  const boost::json::value& field = v.as_object().at("field");
  return field.is_string() ? std::string(field.as_string()) : "(not a string)";
}

// Whether `r` is an RFC 9457 problem for `status` whose detail contains `detail`.
inline ::testing::AssertionResult IsProblem(const Response& r, int status,
                                            const std::string& detail) {
  auto fail = [&]() { return ::testing::AssertionFailure() << r.status << " " << r.body << ": "; };
  if (r.status != status) return fail() << "expected status " << status;
  if (r.content_type != "application/problem+json") return fail() << "type " << r.content_type;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object()) return fail() << "not a JSON object";
  const boost::json::object& o = v.as_object();
  for (const char* key : {"type", "title", "detail"}) {
    if (!o.contains(key) || !o.at(key).is_string()) return fail() << "no string '" << key << "'";
  }
  if (!o.contains("status") || !o.at("status").is_int64() || o.at("status").as_int64() != status) {
    return fail() << "'status' member differs from the HTTP status";
  }
  if (std::string(o.at("detail").as_string()).find(detail) == std::string::npos) {
    return fail() << "detail lacks '" << detail << "'";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace rectrack::http
