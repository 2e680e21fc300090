#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace rectrack {
namespace {

constexpr size_t kMaxErrorBytes = 4096;

// A descriptor closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read, write;
};

Status MakePipe(Pipe* pipe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IOError(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  pipe->read.Reset(fds[0]);
  pipe->write.Reset(fds[1]);
  return Status();
}

// Writing to a program that has already exited raises SIGPIPE; here it is held back for this
// thread while the program runs and any that was raised is taken before the mask is restored,
// so the write fails with EPIPE instead of ending rectrack.
class SigpipeHeld {
 public:
  SigpipeHeld() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeHeld() {
    const timespec none{0, 0};
    while (sigtimedwait(&pipe_, nullptr, &none) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
};

// Ends the program and everything it started, and reaps it. Until it is reaped its pid, and so
// its group's id, cannot be given to another process, so the kill reaches only its group.
void KillGroup(pid_t pid) {
  ::kill(-pid, SIGKILL);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// What the program may see of rectrack's environment: enough to find programs, fonts and a
// place for temporary files; never the secrets a server is given (SMTP passwords, webhook keys).
std::vector<std::string> ProgramEnvironment() {
  std::vector<std::string> kept;
  for (const char* name :
       {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "XDG_CACHE_HOME",
        "XDG_DATA_DIRS", "FONTCONFIG_FILE", "FONTCONFIG_PATH"}) {
    if (const char* value = std::getenv(name)) kept.push_back(std::string(name) + "=" + value);
  }
  return kept;
}

Result<pid_t> Spawn(const std::vector<std::string>& argv, Pipe& in, Pipe& out, Pipe& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
  // Descriptors some library opened without close-on-exec (a socket) stay here.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::vector<std::string> environment = ProgramEnvironment();
  std::vector<char*> env;
  for (const std::string& e : environment) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = 0;
  // posix_spawnp looks the program up in this process's PATH, which the child keeps.
  const int spawned = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) {
    return Status::IOError("cannot run " + argv[0] + ": " + std::strerror(spawned));
  }
  return pid;
}

}  // namespace

Result<ProgramOutput> RunProgram(const std::vector<std::string>& argv, std::string_view input,
                                 const ProgramLimits& limits) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no program to run");
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  Pipe in, out, err;
  RETURN_IF_ERROR(MakePipe(&in));
  RETURN_IF_ERROR(MakePipe(&out));
  RETURN_IF_ERROR(MakePipe(&err));
  SigpipeHeld sigpipe_held;
  ASSIGN_OR_RETURN(const pid_t pid, Spawn(argv, in, out, err));
  // The child has its ends; holding them here would keep its pipes from ever closing.
  in.read.Close();
  out.write.Close();
  err.write.Close();
  for (Fd* fd : {&in.write, &out.read, &err.read}) ::fcntl(fd->get(), F_SETFL, O_NONBLOCK);
  if (input.empty()) in.write.Close();

  ProgramOutput result;
  size_t written = 0;
  auto remaining_ms = [&] {
    // Rounded up: 0.7 ms left is a wait of 1 ms, not a timeout before the limit.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
  };
  char buffer[65536];
  while (out.read.get() >= 0 || err.read.get() >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    for (Fd* fd : {&out.read, &err.read}) {
      if (fd->get() >= 0) fds[n++] = {fd->get(), POLLIN, 0};
    }
    if (in.write.get() >= 0) fds[n++] = {in.write.get(), POLLOUT, 0};
    const int timeout = remaining_ms();
    if (timeout == 0) break;
    if (::poll(fds, n, timeout) < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.write.get()) {
        const ssize_t w = ::write(fds[i].fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        // EPIPE: it stopped reading; what it said about it is on its standard error.
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          in.write.Close();
        }
        continue;
      }
      const bool is_out = fds[i].fd == out.read.get();
      const ssize_t r = ::read(fds[i].fd, buffer, sizeof buffer);
      if (r > 0) {
        std::string& to = is_out ? result.out : result.err;
        if (is_out) {
          if (to.size() + static_cast<size_t>(r) > limits.max_output_bytes) {
            KillGroup(pid);
            return Status::TooLarge(argv[0] + " wrote more than " +
                                    std::to_string(limits.max_output_bytes) + " bytes");
          }
          to.append(buffer, static_cast<size_t>(r));
        } else if (to.size() < kMaxErrorBytes) {
          to.append(buffer, std::min(static_cast<size_t>(r), kMaxErrorBytes - to.size()));
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        (is_out ? out.read : err.read).Close();
      }
    }
  }
  // Its output is closed; it may still be running (or have left a child holding the pipes).
  // Its exit is seen without reaping it (WNOWAIT), so its group is killed while its id is
  // still its own, then it is reaped.
  siginfo_t info{};
  for (;;) {
    info.si_pid = 0;
    const int seen = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (seen == 0 && info.si_pid == pid) break;
    if (seen < 0 && errno != EINTR) {
      KillGroup(pid);
      return Status::IOError("lost " + argv[0] + "'s process");
    }
    if (remaining_ms() == 0) {
      KillGroup(pid);
      const long long ms = limits.timeout.count();
      const std::string limit =
          ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
      return Status::Unavailable(argv[0] + " did not finish within " + limit + " and was stopped");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  KillGroup(pid);  // anything it left running in its group; reaps it
  if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
    return Status::IOError(argv[0] + " was ended by signal " + std::to_string(info.si_status));
  }
  result.exit_code = info.si_status;
  return result;
}

}  // namespace rectrack
