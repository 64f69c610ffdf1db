/* Shared by the C test programs: CHECK() and expect_ok() count failures; main() returns it.
 * Thread-safe, because send.c checks from several threads. */
#ifndef MAILPORT_TEST_CHECK_H
#define MAILPORT_TEST_CHECK_H

#include "mailport.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond, what)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            pthread_mutex_lock(&failures_lock);                                            \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond);     \
            failures++;                                                                    \
            pthread_mutex_unlock(&failures_lock);                                          \
        }                                                                                  \
    } while (0)

/* Check that a call succeeded; on failure print the error object's details. The error is
 * passed by address: C leaves the order of argument evaluation open, so passing `err` by value
 * next to the call that sets it could read it before the call. */
static inline void expect_ok(mailport_result rc, mailport_error **errp, const char *what) {
    mailport_error *err = *errp;
    *errp = NULL;
    if (rc != MAILPORT_OK) {
        pthread_mutex_lock(&failures_lock);
        fprintf(stderr, "FAIL %s: %s (%u): %s\n  hint: %s\n  reply: %u %s\n  transcript:\n%s\n",
                what, mailport_result_name(rc), (unsigned)rc, mailport_error_message(err),
                mailport_error_hint(err), (unsigned)mailport_error_reply_code(err),
                mailport_error_server_reply(err), mailport_error_transcript(err));
        failures++;
        pthread_mutex_unlock(&failures_lock);
    }
    CHECK(rc != MAILPORT_OK || err == NULL, "error_out is NULL on success");
    mailport_error_free(err);
}

static inline int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

#endif
