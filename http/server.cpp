#include "http/server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "http/session.h"

namespace rectrack::http {
namespace {

// One io_context per thread, each run by its own thread (as nginx runs one event loop per worker):
// a connection lives on one context from accept to close, so its handlers need no strand, and the
// threads do not meet on one scheduler's lock for every operation. Connections are dealt out in
// turn.
class ContextPool {
 public:
  explicit ContextPool(int threads) {
    for (int i = 0; i < std::max(threads, 1); ++i) {
      // Hint 1: one thread runs each context (others still post to it: the writer, commits).
      contexts_.push_back(std::make_unique<net::io_context>(1));
      guards_.push_back(net::make_work_guard(*contexts_.back()));
    }
  }
  net::io_context& first() { return *contexts_.front(); }
  net::io_context& next() { return *contexts_[next_++ % contexts_.size()]; }  // accept thread only

  // Runs every context, the first on the calling thread, until Stop.
  void Run() {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([context = contexts_[i].get()] { context->run(); });
    }
    contexts_.front()->run();
    for (auto& t : threads) t.join();
  }
  void Stop() {
    for (auto& context : contexts_) context->stop();
  }

 private:
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  size_t next_ = 0;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ContextPool& pool, Shared& shared)
      : pool_(pool), acceptor_(pool.first()), shared_(shared) {}

  Status Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("cannot listen on " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
    }
    return Status();
  }
  tcp::endpoint local() const { return acceptor_.local_endpoint(); }

  void Accept() {
    acceptor_.async_accept(pool_.next(), [self = shared_from_this()](beast::error_code ec,
                                                                     tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted) return;
      } else {
        const int limit = self->shared_.options.max_connections;
        if (self->shared_.connections >= 2 * limit) {
          // Far past the limit: not even a look at the request (the socket just closes).
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          auto session = std::make_shared<Session>(std::move(socket), self->shared_);
          if (self->shared_.connections > limit) {
            session->TurnAway(Api::Problem(503, "too many connections"));
          } else if (!session->Admit()) {
            session->TurnAway(Api::Problem(
                503, "too many connections from " + session->address() + " (at most " +
                         std::to_string(self->shared_.options.max_connections_per_address) + ")"));
          } else {
            session->Start();
          }
        }
      }
      if (!self->shared_.stopping) self->Accept();
    });
  }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  ContextPool& pool_;
  tcp::acceptor acceptor_;
  Shared& shared_;
};

}  // namespace

Status ParseListen(const std::string& listen, ServerOptions* options) {
  std::string host, port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find("]:");
    if (close == std::string::npos) return Status::InvalidArgument("bad --listen '" + listen + "'");
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("--listen needs HOST:PORT");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (host.empty()) host = "127.0.0.1";
  beast::error_code ec;
  net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("--listen: '" + host + "' is not an IP address");
  const std::optional<int64_t> number = ParseDigits(port, 5);
  if (!number || *number > 65535) {
    return Status::InvalidArgument("--listen: bad port '" + port + "'");
  }
  options->address = host;
  options->port = static_cast<uint16_t>(*number);
  return Status();
}

Status ParseTrustedProxies(const std::string& list, ServerOptions* options) {
  std::vector<std::string> proxies = SplitList(list);
  for (const std::string& proxy : proxies) {
    beast::error_code ec;
    net::ip::make_address(proxy, ec);
    if (ec) return Status::InvalidArgument("trusted_proxies: '" + proxy + "' is not an IP address");
  }
  options->trusted_proxies = std::move(proxies);
  return Status();
}

std::string ClientAddress(const std::string& peer, std::string_view forwarded_for,
                          const std::vector<std::string>& trusted_proxies) {
  if (trusted_proxies.empty() || forwarded_for.empty()) return peer;
  // An IPv4 address as a dual-stack socket gives it (::ffff:127.0.0.1) is that IPv4 address.
  auto plain = [](const net::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      return net::ip::address(net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()));
    }
    return address;
  };
  auto trusted = [&](const net::ip::address& address) {
    for (const std::string& proxy : trusted_proxies) {
      beast::error_code ec;
      const net::ip::address parsed = net::ip::make_address(proxy, ec);
      if (!ec && plain(parsed) == plain(address)) return true;
    }
    return false;
  };
  beast::error_code ec;
  const net::ip::address from = net::ip::make_address(peer, ec);
  if (ec || !trusted(from)) return peer;
  // Each proxy appends the address it heard from: from the nearest back, the first that is not
  // one of ours is the client. Anything before it may be made up by the client.
  const std::vector<std::string> hops = SplitList(forwarded_for);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    const net::ip::address address = net::ip::make_address(*hop, ec);
    if (ec) return peer;  // not an address: believe none of it
    if (!trusted(address)) return plain(address).to_string();
  }
  return peer;
}

Status Serve(EngineHost& host, Api& api, const ServerOptions& options,
             const std::function<void(const std::string&)>& on_listening, Front* front,
             Stop* stop) {
  // sendfile(2) (Session::SendSealed) cannot be asked not to raise SIGPIPE, as send can, when the
  // client has gone: a server takes the EPIPE instead, as nginx does. Programs rectrack starts
  // get the default back (common/subprocess.cpp).
  ::signal(SIGPIPE, SIG_IGN);
  // `shared` is declared first so it outlives the io_context: destroying the io_context destroys
  // pending handlers, and with them sessions that still use `shared`.
  Shared shared(host, api, options, front);
  ContextPool pool(options.threads);
  net::io_context& ioc = pool.first();  // the listener, the poll, the signals and the drain
  auto listener = std::make_shared<Listener>(pool, shared);
  const tcp::endpoint endpoint(net::ip::make_address(options.address), options.port);
  RETURN_IF_ERROR(listener->Open(endpoint));
  listener->Accept();
  const tcp::endpoint bound = listener->local();
  const std::string where =
      bound.address().is_v6()
          ? "[" + bound.address().to_string() + "]:" + std::to_string(bound.port())
          : bound.address().to_string() + ":" + std::to_string(bound.port());

  // Shutdown: stop accepting, let requests in flight finish, close idle connections and
  // streams, and stop when none is left or the grace period is over.
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer poll_timer(ioc);
  net::steady_timer drain(ioc);
  auto deadline = std::chrono::steady_clock::time_point::max();
  std::function<void()> wait_for_drain = [&] {
    if (shared.connections == 0 || std::chrono::steady_clock::now() > deadline) {
      pool.Stop();
      return;
    }
    for (auto& session : shared.Live()) session->CloseIfIdle();
    drain.expires_after(std::chrono::milliseconds(50));
    drain.async_wait([&](beast::error_code) { wait_for_drain(); });
  };
  auto shut_down = [&] {
    if (shared.stopping) return;
    shared.stopping = true;
    if (stop) stop->MarkStopping();
    listener->Stop();
    poll_timer.cancel();
    signals.cancel();
    deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options.shutdown_grace_seconds);
    wait_for_drain();
  };
  signals.async_wait([&](beast::error_code ec, int) {
    if (!ec) shut_down();
  });

  // Other processes (the CLI) may commit too; one cheap PRAGMA a second notices it. The same
  // turn looks whether another thread asked the server to stop.
  std::function<void()> poll_loop = [&] {
    poll_timer.expires_after(std::chrono::milliseconds(options.poll_milliseconds));
    poll_timer.async_wait([&](beast::error_code ec) {
      if (ec || shared.stopping) return;
      if (stop && stop->requested()) return shut_down();
      host.Poll();
      poll_loop();
    });
  };
  poll_loop();

  on_listening(where);
  pool.Run();
  shared.blocking.join();  // its answers go to the stopped contexts, which destroy them
  // Writes still queued are committed; their answers go to the stopped io_context, which
  // destroys them (and their sessions) with the rest of its handlers.
  host.Drain();
  return Status();
}

}  // namespace rectrack::http
