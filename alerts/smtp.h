// SMTP submission through libcurl: one message to one recipient over the relay's TLS (STARTTLS
// or implicit) with AUTH, blocking the calling thread until the relay has answered, the timeout
// has passed or `cancelled` is set. Internal to the delivery library (delivery.cpp runs it on
// worker threads so the Deliverer's own thread never blocks).
//
// Thread-safety: SendMail may run on many threads at once (each call has its own curl handle).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "alerts/delivery.h"

namespace rectrack::alerts::internal {

// `data` is the whole message (headers, blank line, body; CRLF line ends, no dot-stuffing: libcurl
// does it). delivered with the 250 after DATA; otherwise error says what failed and the relay's
// last reply, status holding that reply's code. Never sends in clear unless relay.plain.
// REQUIRES: CheckSmtpRelay(message.relay) is OK.
AttemptResult SendMail(const EmailMessage& message, const std::string& data,
                       std::chrono::milliseconds timeout, const std::atomic<bool>& cancelled);

}  // namespace rectrack::alerts::internal
