// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html), as
// leveldb's port/thread_annotations.h spells them. Under clang with -Wthread-safety the compiler
// checks that every member marked GUARDED_BY(mu) is touched only with mu held and that every
// function marked REQUIRES(mu) is called with it; under other compilers they expand to nothing.
// `make test` runs that check (tests/thread_safety_check.sh).
#pragma once

#if defined(__clang__)
#define RECTRACK_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define RECTRACK_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) RECTRACK_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY RECTRACK_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) RECTRACK_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) RECTRACK_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_AFTER(...) RECTRACK_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) RECTRACK_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define REQUIRES(...) RECTRACK_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) RECTRACK_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) RECTRACK_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) RECTRACK_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) RECTRACK_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS RECTRACK_THREAD_ANNOTATION(no_thread_safety_analysis)
