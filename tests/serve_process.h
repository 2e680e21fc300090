// `rectrack serve` as a process of its own, as a user starts it: for the tests that talk to it over
// real sockets on 127.0.0.1. Header-only; needs RECTRACK_BINARY.
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace rectrack {

class ServeProcess {
 public:
  // Runs `rectrack <options...> serve --listen 127.0.0.1:0` with `settings` ("RECTRACK_X=value")
  // added to this process's environment, and waits up to 10 s for its first line ("rectrack
  // serving ... on http://127.0.0.1:PORT"). port() is 0 when it did not start; first_line() then
  // says what it printed.
  explicit ServeProcess(const std::vector<std::string>& options,
                        const std::vector<std::string>& settings = {}) {
    int out[2];
    if (::pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    env.insert(env.end(), settings.begin(), settings.end());
    std::vector<std::string> args = {RECTRACK_BINARY};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"serve", "--listen", "127.0.0.1:0"});
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    for (auto& e : env) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, RECTRACK_BINARY, &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = 0;
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    pollfd ready{out[0], POLLIN, 0};
    char c;
    while (pid_ > 0 && first_line_.find('\n') == std::string::npos &&
           ::poll(&ready, 1, 10000) > 0 && ::read(out[0], &c, 1) == 1) {
      first_line_ += c;
    }
    ::close(out[0]);
    const size_t colon = first_line_.rfind(':');
    if (colon != std::string::npos) port_ = std::atoi(first_line_.c_str() + colon + 1);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() { Stop(SIGKILL); }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& first_line() const { return first_line_; }

  // Sends `signal` (SIGTERM, or SIGINT as Ctrl-C does) and waits up to 10 s; returns the exit
  // status, or -1 when it had to be killed or did not exit normally. 0 once stopped.
  int Stop(int signal = SIGTERM) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return -1;
  }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
  std::string first_line_;
};

}  // namespace rectrack
