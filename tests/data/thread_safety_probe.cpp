// Breaks a lock rule on purpose: tests/thread_safety_check.sh checks that clang refuses it, so
// the analysis is known to be on before it is trusted on the real sources.
#include "common/mutex.h"

namespace {

class Counter {
 public:
  void Increment() { ++count_; }  // touches count_ without mutex_: must not compile

 private:
  rectrack::Mutex mutex_;
  int count_ GUARDED_BY(mutex_) = 0;
};

}  // namespace

int main() {
  Counter c;
  c.Increment();
}
