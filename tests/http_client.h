// A minimal blocking HTTP/1.1 client for the tests that talk to `rectrack serve`, or to a server
// of their own, over real sockets on 127.0.0.1: one copy for every such test (server_fixture.h,
// alerts_e2e_receivers.h, api_actions_reads_test.cpp).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <string>

#include "common/strings.h"

namespace rectrack::test_http {

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

// A TCP socket connected to 127.0.0.1:`port`, or -1. With `read_timeout`, a read on it gives up
// after 5 s; with `receive_buffer`, its kernel buffer for reading is that small (set before the
// connection, so the window the server sees is small too).
inline int ConnectLocal(int port, bool read_timeout, int receive_buffer = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  if (read_timeout) {
    timeval patience{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A minimal blocking HTTP/1.1 client on one connection.
class Connection {
 public:
  explicit Connection(int port) : fd_(ConnectLocal(port, /*read_timeout=*/true)) {
    connected_ = fd_ >= 0;
  }
  ~Connection() { ::close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void Send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

  // Reads one response (Content-Length framed); status 0 when the connection closed first.
  Reply Read() {
    Reply r;
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return r;
    }
    const size_t end = buffer_.find("\r\n\r\n");
    r.head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    r.status = std::atoi(r.head.substr(9, 3).c_str());
    size_t length = 0;
    if (auto at = Lower(r.head).find("content-length:"); at != std::string::npos) {
      length = std::strtoul(r.head.c_str() + at + 15, nullptr, 10);
    }
    while (buffer_.size() < length) {
      if (!Fill()) break;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, std::min(length, buffer_.size()));
    return r;
  }

  // True when the server closed the connection (read returns 0) within the socket timeout.
  bool ClosedByPeer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

  Reply Request(const std::string& method, const std::string& target, const std::string& token,
                const std::string& body = "", const std::string& type = "application/json") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) {
      req +=
          "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    Send(req + "\r\n" + body);
    return Read();
  }

 private:
  bool Fill() {
    std::array<char, 4096> chunk;
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n <= 0) return false;
    buffer_.append(chunk.data(), static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

// The value of header field `name` (lower case) in a reply's head, or "".
inline std::string FieldOf(const Reply& reply, const std::string& name) {
  const std::string lower = Lower(reply.head);
  const size_t at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  size_t from = at + 3 + name.size();
  while (from < reply.head.size() && reply.head[from] == ' ') ++from;
  return reply.head.substr(from, reply.head.find("\r\n", from) - from);
}

// Reads from `c` until `needle` has arrived or `seconds` pass; returns what arrived.
inline std::string ReadUntil(int fd, const std::string& needle, int seconds) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (got.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// One request on a connection of its own.
inline Reply RequestOnce(int port, const std::string& method, const std::string& target,
                         const std::string& token, const std::string& body = "") {
  Connection c(port);
  if (!c.connected()) return Reply{};
  return c.Request(method, target, token, body);
}

}  // namespace rectrack::test_http
