/*
 * Linked into the C test programs of a ThreadSanitizer run (tests/common/c_program.rs).
 *
 * rustc's LLVM instruments libmailport with calls to __tsan_memcpy, __tsan_memmove and
 * __tsan_memset, which gcc 12's libtsan (the runtime of the C programs) does not define. Each
 * forwards to the libc function, which libtsan intercepts: the same check of both ranges that
 * LLVM's runtime makes. Built with -fno-builtin so that gcc keeps the calls to the intercepted
 * functions rather than expanding them inline.
 */
#include <stddef.h>
#include <string.h>

void *__tsan_memcpy(void *dst, const void *src, size_t n);
void *__tsan_memmove(void *dst, const void *src, size_t n);
void *__tsan_memset(void *dst, int c, size_t n);

void *__tsan_memcpy(void *dst, const void *src, size_t n) { return memcpy(dst, src, n); }
void *__tsan_memmove(void *dst, const void *src, size_t n) { return memmove(dst, src, n); }
void *__tsan_memset(void *dst, int c, size_t n) { return memset(dst, c, n); }
