// Status and Result<T>: the one error style used across every module boundary of rectrack.
//
// A Status is either OK or carries a Code and a human-readable message that says what went wrong
// and where ("demo.yaml:12:5: unknown body 'CPX'"). Exceptions thrown by yaml-cpp, SQLite wrappers
// or Boost are caught at the adapter that calls them and turned into a Status; they never cross a
// module boundary. Codes map one-to-one onto HTTP problem statuses, so adapters need no guessing.
//
// Thread-safety: Status and Result are values; distinct objects may be used from distinct threads.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace rectrack {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // malformed input: bad YAML/JSON/date/id (HTTP 400)
  kUnauthenticated,     // no or unknown credentials (401)
  kPermissionDenied,    // a role or body may not do this (403)
  kNotFound,            // a referenced thing does not exist (404)
  kConflict,            // the workflow does not allow this now (409)
  kFailedPrecondition,  // the caller's version is stale: a lost update was prevented (412)
  kUnprocessable,       // well-formed but breaks a rule, e.g. a missing reference (422)
  kCorruption,          // stored data fails its own checks (hash chain, replay) (500)
  kIOError,             // the database or file system failed (500)
  kStorageFull,         // the disk (or the database's size limit) is full: nothing written (507)
  kTooLarge,            // the input is over a configured size limit: nothing written (413)
  kUnavailable,         // busy, or an outside program did not finish: try again later (503)
};

class Status {
 public:
  Status() = default;  // OK

  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status Unauthenticated(std::string msg) {
    return {Code::kUnauthenticated, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {Code::kFailedPrecondition, std::move(msg)};
  }
  static Status Unprocessable(std::string msg) { return {Code::kUnprocessable, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status StorageFull(std::string msg) { return {Code::kStorageFull, std::move(msg)}; }
  static Status TooLarge(std::string msg) { return {Code::kTooLarge, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // The input the error is about, when it is about one: a workflow field's name, or
  // "effective" for an event's effective date; "" when about the request as a whole. A form
  // shows the error beside that input; the message says the same in words.
  const std::string& field() const { return field_; }

  // Returns a copy whose message is "prefix: message"; used to add where an error happened.
  Status WithContext(const std::string& prefix) const {
    if (ok()) return *this;
    Status s(code_, prefix + ": " + message_);
    s.field_ = field_;
    return s;
  }
  // Returns a copy that says which input it is about (field()).
  Status AtField(std::string field) const {
    Status s = *this;
    if (!ok()) s.field_ = std::move(field);
    return s;
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

// Either a value or a non-OK Status. REQUIRES: a Status stored in a Result is not OK.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(data_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  // By value, not T&&: `for (auto& x : F().value())` then holds the value for the loop, where a
  // reference into the temporary Result would dangle.
  T value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace rectrack

#define RECTRACK_CONCAT_INNER(a, b) a##b
#define RECTRACK_CONCAT(a, b) RECTRACK_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) is not OK.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::rectrack::Status rectrack_status_ = (expr);        \
    if (!rectrack_status_.ok()) return rectrack_status_; \
  } while (0)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, rexpr)                             \
  auto RECTRACK_CONCAT(rectrack_result_, __LINE__) = (rexpr);    \
  if (!RECTRACK_CONCAT(rectrack_result_, __LINE__).ok())         \
    return RECTRACK_CONCAT(rectrack_result_, __LINE__).status(); \
  lhs = std::move(RECTRACK_CONCAT(rectrack_result_, __LINE__)).value()
