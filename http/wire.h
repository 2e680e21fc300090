// The HTTP/1.1 wire, as rectrack's server reads and writes it: a request parsed straight into
// an http::Request (RequestReader), and the response head written by hand (WriteResponseHead, in
// server.h for tests). Private to the http library: only session.h (so session.cpp and
// server.cpp) and wire.cpp include it, so Beast's parser stays out of every other file.
#pragma once

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>

#include "http/api.h"

namespace rectrack::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;

// Reads a request straight into an http::Request: Beast's parser (limits, framing, chunked
// bodies, keep-alive) without Beast's fields container, which allocates once per header and would
// be copied out of afterwards. A header given twice keeps its last value; names are lower case.
class RequestReader : public bhttp::basic_parser<true> {
 public:
  Request request;
  bhttp::verb method = bhttp::verb::unknown;
  bool expect_continue = false;    // "Expect: 100-continue"
  bool transfer_encoding = false;  // any Transfer-Encoding field
  // A field that decides who asks or what the body is, given twice (the request is refused:
  // which one a reader takes is a guess an attacker could play on); "" for none.
  std::string repeated;

 private:
  void on_request_impl(bhttp::verb verb, beast::string_view method_string,
                       beast::string_view target, int, beast::error_code&) override {
    method = verb;
    request.method.assign(method_string.data(), method_string.size());
    request.target.assign(target.data(), target.size());
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = bhttp::error::bad_method;  // never called: this parser reads requests
  }
  void on_field_impl(bhttp::field field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override {
    std::string lower(name.data(), name.size());
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (field == bhttp::field::expect) expect_continue = beast::iequals(value, "100-continue");
    if (field == bhttp::field::transfer_encoding) transfer_encoding = true;
    auto [at, added] = request.headers.try_emplace(std::move(lower));
    if (!added) {
      // A list may come on several lines, which mean the lines joined (RFC 9110 5.3; cookies
      // by "; ", RFC 6265 and 9113 8.2.3). A field of one value given twice is refused:
      // which one a reader took would be a guess.
      if (const char* separator = ListSeparator(at->first)) {
        at->second.append(separator).append(value.data(), value.size());
        return;
      }
      if (OnlyOnce(at->first)) {
        repeated = at->first;
        ec = bhttp::error::bad_field;
        return;
      }
    }
    at->second.assign(value.data(), value.size());
  }
  static const char* ListSeparator(const std::string& lower_name) {
    if (lower_name == "cookie") return "; ";
    for (const char* name : {"if-match", "if-none-match", "expect"}) {
      if (lower_name == name) return ", ";
    }
    return nullptr;
  }
  static bool OnlyOnce(const std::string& lower_name) {
    for (const char* name :
         {"authorization", "content-type", "origin", "sec-fetch-site", "last-event-id", "host"}) {
      if (lower_name == name) return true;
    }
    return false;
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    // Within the body limit (the parser refuses a longer Content-Length before this), and no
    // more than 64 KiB before the bytes arrive: a client that only announces a body does not
    // get the server to set its memory aside.
    if (length) request.body.reserve(static_cast<size_t>(std::min<std::uint64_t>(*length, 65536)));
  }
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    request.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    request.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}
};

}  // namespace rectrack::http
