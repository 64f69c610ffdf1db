/*
 * mailport C API, rendering: the owned bytes of mailport_message_render_bytes, the copy-out of
 * mailport_message_render, streaming with mailport_message_render_to_fd (a file, /dev/full, a
 * pipe whose reader is gone) and mailport_message_render_to_callback (one that collects, one
 * that stops), and the memory a 25 MiB attachment costs when it is streamed to a file.
 *
 *   render check DIR     every rendering path and its errors (run under valgrind)
 *   render memory DIR    peak RSS growth (VmHWM) while a message with a 25 MiB attachment is
 *                        measured, streamed to a file and rendered to owned bytes (run without
 *                        valgrind or a sanitizer, which change the process's memory)
 *
 * DIR is an empty scratch directory. SIGPIPE keeps its default action (death), as in a C host
 * that never asked to ignore it. On success the program prints "RENDER_OK" (and, for memory,
 * "RSS_GROWTH_KB <phase> <kB>" lines) and exits 0; every failed check is printed and makes it
 * exit 1.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/render.c \
 *            -Ltarget/debug -lmailport
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path_buf[4096];

static const char *in_dir(const char *dir, const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

/* No attachment and no HTML alternative (so no random MIME boundary), a fixed Date and
 * Message-ID: every rendering gives the same bytes. */
static mailport_message *fixed_message(void) {
    mailport_message *m = mailport_message_new();
    mailport_error *err = NULL;
    expect_ok(mailport_message_set_from(m, "ann@example.org", &err), &err, "from");
    expect_ok(mailport_message_add_to(m, "bob@example.org", &err), &err, "to");
    expect_ok(mailport_message_set_subject(m, "Rendered once", &err), &err, "subject");
    expect_ok(mailport_message_set_date(m, 1700000000, &err), &err, "date");
    expect_ok(mailport_message_set_message_id(m, "<render@example.org>", &err), &err, "id");
    expect_ok(mailport_message_set_text(m, "Hello.\n", &err), &err, "text");
    return m;
}

/* ---- the callbacks ---- */

struct sink {
    uint8_t *data;
    size_t len, cap, calls;
};

static int collect(void *user_data, const uint8_t *data, size_t len) {
    struct sink *s = user_data;
    s->calls++;
    if (len == 0) return 1; /* documented never to happen */
    if (s->len + len > s->cap) {
        size_t cap = (s->len + len) * 2;
        uint8_t *grown = realloc(s->data, cap);
        if (grown == NULL) return 2;
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
    return 0;
}

static int stop_at_once(void *user_data, const uint8_t *data, size_t len) {
    (void)user_data;
    (void)data;
    (void)len;
    return 42;
}

/* ---- check: every path, every error ---- */

static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long size;
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(size > 0 ? (size_t)size : 1);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

static void check(const char *dir) {
    mailport_message *m = fixed_message();
    mailport_error *err = NULL;
    mailport_bytes *bytes = NULL;
    size_t n = 0, got = 0;
    uint64_t written = 99;
    uint8_t *buf, *file;
    mailport_result rc;
    int fd, pipe_fds[2];

    /* Owned bytes: the same as the copy-out, and no NUL promised after them. */
    expect_ok(mailport_message_render_bytes(m, &bytes, &err), &err, "render_bytes");
    CHECK(bytes != NULL && mailport_bytes_data(bytes) != NULL, "bytes handed over");
    rc = mailport_message_render(m, NULL, 0, &n, &err);
    CHECK(rc == MAILPORT_ERR_BUFFER_TOO_SMALL, "the sizing call says how much");
    mailport_error_free(err);
    err = NULL;
    CHECK(n == mailport_bytes_len(bytes), "the sizing call gives the owned length");
    buf = malloc(n);
    expect_ok(mailport_message_render(m, buf, n, &got, &err), &err, "render into exactly n");
    CHECK(got == n && memcmp(buf, mailport_bytes_data(bytes), n) == 0, "copy-out = owned");

    /* A file descriptor gets the same bytes and stays open. */
    fd = open(in_dir(dir, "out.eml"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "open out.eml");
    expect_ok(mailport_message_render_to_fd(m, fd, &written, &err), &err, "render_to_fd");
    CHECK(written == n, "render_to_fd counts every byte");
    CHECK(write(fd, "", 0) == 0, "the descriptor is still open");
    close(fd);
    file = read_file(in_dir(dir, "out.eml"), &got);
    CHECK(file != NULL && got == n && memcmp(file, buf, n) == 0, "the file holds the message");
    free(file);

    /* A full disk: the error names the descriptor and the errno. */
    fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        char want[32];
        rc = mailport_message_render_to_fd(m, fd, &written, &err);
        snprintf(want, sizeof want, "fd %d", fd);
        CHECK(rc == MAILPORT_ERR_IO, "/dev/full is an I/O error");
        CHECK(contains(mailport_error_message(err), want), "the message names the fd");
        CHECK(contains(mailport_error_message(err), "ENOSPC"), "the message names ENOSPC");
        CHECK(contains(mailport_error_hint(err), "full"), "the hint says the disk is full");
        CHECK(written == 0, "nothing was written");
        mailport_error_free(err);
        err = NULL;
        close(fd);
    }

    /* A pipe whose reader is gone: EPIPE, and this process (SIGPIPE at its default) lives. */
    CHECK(pipe(pipe_fds) == 0, "pipe");
    close(pipe_fds[0]);
    rc = mailport_message_render_to_fd(m, pipe_fds[1], &written, &err);
    CHECK(rc == MAILPORT_ERR_IO, "a closed pipe is an I/O error");
    CHECK(contains(mailport_error_message(err), "EPIPE"), "the message names EPIPE");
    mailport_error_free(err);
    err = NULL;
    close(pipe_fds[1]);

    /* A negative descriptor is refused, naming it. */
    rc = mailport_message_render_to_fd(m, -1, NULL, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "fd -1 is refused");
    CHECK(contains(mailport_error_message(err), "fd is -1"), "the message names the value");
    mailport_error_free(err);
    err = NULL;

    /* A callback that collects gets exactly the bytes; one that returns non-zero stops it. */
    {
        struct sink s = {NULL, 0, 0, 0};
        expect_ok(mailport_message_render_to_callback(m, collect, &s, &written, &err), &err,
                  "render_to_callback");
        CHECK(s.len == n && memcmp(s.data, buf, n) == 0, "the callback got the message");
        CHECK(written == n && s.calls >= 1, "written counts what the callback took");
        free(s.data);
    }
    rc = mailport_message_render_to_callback(m, stop_at_once, NULL, &written, &err);
    CHECK(rc == MAILPORT_ERR_IO, "a callback's non-zero return is MAILPORT_ERR_IO");
    CHECK(contains(mailport_error_message(err), "returned 42"), "the message gives the value");
    CHECK(written == 0, "the stopping callback took nothing");
    mailport_error_free(err);
    err = NULL;

    free(buf);
    mailport_bytes_free(bytes);
    mailport_message_free(m);
}

/* ---- memory: a 25 MiB attachment ---- */

#define ATTACHMENT_BYTES (25u * 1024u * 1024u)
#define STREAM_LIMIT_KB (16u * 1024u)

/* A field of /proc/self/status, in kB (-1 if missing). */
static long status_kb(const char *field) {
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') kb = strtol(line + len + 1, NULL, 10);
    fclose(f);
    return kb;
}

/* Start a phase: reset the peak (VmHWM) to the current RSS where the kernel allows it
 * (clear_refs "5"); return the baseline the growth is measured from. */
static long phase_start(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "5", 1) != 1) { /* older kernels: the peak then only grows */
        }
        close(fd);
    }
    return status_kb("VmRSS");
}

static long phase_growth(const char *name, long baseline) {
    long growth = status_kb("VmHWM") - baseline;
    printf("RSS_GROWTH_KB %s %ld\n", name, growth);
    return growth;
}

static void memory(const char *dir) {
    static uint8_t chunk[64 * 1024];
    mailport_message *m = fixed_message();
    mailport_error *err = NULL;
    mailport_bytes *bytes = NULL;
    char attachment[4096];
    size_t i, size = 0;
    uint64_t written = 0;
    long base, growth;
    int fd;

    /* The attachment is written in small chunks, so making it costs no memory. */
    snprintf(attachment, sizeof attachment, "%s", in_dir(dir, "big.bin"));
    fd = open(attachment, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "create big.bin");
    for (i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)(i * 31 + 7);
    for (i = 0; i < ATTACHMENT_BYTES / sizeof chunk; i++)
        CHECK(write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk, "write big.bin");
    close(fd);
    expect_ok(mailport_message_attach_file(m, attachment, NULL, NULL, &err), &err, "attach");

    /* Warm-up: the first rendering loads the library's lazily built state. */
    mailport_message_render(m, NULL, 0, &size, &err);
    mailport_error_free(err);
    err = NULL;

    base = phase_start();
    CHECK(mailport_message_render(m, NULL, 0, &size, &err) == MAILPORT_ERR_BUFFER_TOO_SMALL,
          "the sizing call");
    mailport_error_free(err);
    err = NULL;
    growth = phase_growth("size", base);
    CHECK(size > ATTACHMENT_BYTES * 4u / 3u, "the size counts the encoded attachment");
    CHECK(growth < 1024, "measuring the message does not render the attachment");

    fd = open(in_dir(dir, "big.eml"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "create big.eml");
    base = phase_start();
    expect_ok(mailport_message_render_to_fd(m, fd, &written, &err), &err, "render big to fd");
    growth = phase_growth("to_fd", base);
    close(fd);
    CHECK(written == size, "the file got the announced size");
    CHECK(growth <= (long)STREAM_LIMIT_KB, "streaming 25 MiB to a file grows RSS by <= 16 MB");

    base = phase_start();
    expect_ok(mailport_message_render_bytes(m, &bytes, &err), &err, "render big to bytes");
    growth = phase_growth("to_bytes", base);
    CHECK(bytes != NULL && mailport_bytes_len(bytes) == size, "owned bytes of the same size");
    CHECK(growth <= (long)(size / 1024u) * 13 / 10, "owned bytes cost <= 1.3x their size");
    printf("OUTPUT_KB %lu\n", (unsigned long)(size / 1024u));

    mailport_bytes_free(bytes);
    mailport_message_free(m);
    unlink(in_dir(dir, "big.eml"));
    unlink(attachment);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: render check|memory DIR\n");
        return 2;
    }
    signal(SIGPIPE, SIG_DFL);
    if (strcmp(argv[1], "check") == 0)
        check(argv[2]);
    else if (strcmp(argv[1], "memory") == 0)
        memory(argv[2]);
    else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    if (failures == 0) printf("RENDER_OK\n");
    return failures == 0 ? 0 : 1;
}
