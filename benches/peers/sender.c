/*
 * A sender for the submission benchmark: mailport from C, through include/mailport.h.
 *
 *   sender mailport MODE PORT CA N TEXT [ATTACHMENT]
 *
 * MODE is `one` (N messages over one STARTTLS + AUTH connection), `each` (a new client, so a new
 * connection, per message), `persistent` (a new client per message with persistent mode: the
 * process-wide pool hands the session back) or `attach` (one message with ATTACHMENT, over
 * implicit TLS; N must be 1). S7's modes send nothing (PORT may be 0; N must be 1): `render` renders
 * the message with ATTACHMENT to bytes in memory (`mailport_message_render`), `stream` renders it
 * to a file (`ATTACHMENT.c.eml`, removed afterwards). See benches/peers/README.md.
 *
 * Prints one line, `<seconds> <cpu_seconds> <resumed> <rss_growth_kib>`, for the span from just
 * before the config is made until after QUIT (the S7 modes add `<output_bytes>`); on any failure prints the error (with its hint and
 * the server's reply) on stderr and exits 1. SENDER_VERBOSE=1 prints each receipt's TLS version.
 *
 * Build (T is the cargo target directory holding release/libmailport.so):
 *   gcc -std=c11 -O2 -Wall -Wextra -Iinclude benches/peers/sender.c \
 *       -L$T/release -lmailport -Wl,-rpath,$T/release -o $T/release/peers-sender
 */
#define _POSIX_C_SOURCE 200809L

#include "mailport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define USER "bench"
#define PASSWORD "secret"
#define FROM "Bench <bench@example.com>"
#define TO "sink@example.com"
#define HELO "bench.example"

static bool verbose = false;

/* ---- errors ---- */

/* Print a failed call's error on stderr and free it; returns 1 (the exit status). */
static int report(const char *what, mailport_result rc, mailport_error **err) {
    const mailport_error *e = *err;
    fprintf(stderr, "sender.c: %s failed: %s", what, mailport_result_name(rc));
    if (e != NULL) {
        fprintf(stderr, ": %s\n", mailport_error_message(e));
        if (*mailport_error_hint(e) != '\0') fprintf(stderr, "hint: %s\n", mailport_error_hint(e));
        if (mailport_error_reply_code(e) != 0)
            fprintf(stderr, "server said: %u %s\n", (unsigned)mailport_error_reply_code(e),
                    mailport_error_server_reply(e));
        for (size_t i = 0; i < mailport_error_rejected_count(e); i++)
            fprintf(stderr, "refused: %s (%s)\n", mailport_error_rejected_address(e, i),
                    mailport_error_rejected_reply(e, i));
    } else {
        fprintf(stderr, ": %s\n", mailport_result_str(rc));
    }
    mailport_error_free(*err);
    *err = NULL;
    return 1;
}

/* Evaluate a mailport call; on failure report it and jump to `done` with status 1. */
#define CHECK(call, what)                                                                          \
    do {                                                                                           \
        mailport_result rc_ = (call);                                                              \
        if (rc_ != MAILPORT_OK) {                                                                  \
            status = report((what), rc_, &err);                                                    \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* ---- configuration and messages ---- */

/* A config for 127.0.0.1:port: security, AUTH, EHLO name, the sink's CA and no other roots. */
static int make_config(unsigned port, const char *ca, uint32_t security, bool persistent,
                       mailport_config **out) {
    int status = 0;
    mailport_error *err = NULL;
    mailport_config *cfg = mailport_config_new();
    if (cfg == NULL) {
        fprintf(stderr, "sender.c: mailport_config_new returned NULL\n");
        return 1;
    }
    CHECK(mailport_config_set_host(cfg, "127.0.0.1", &err), "set_host");
    CHECK(mailport_config_set_port(cfg, port, &err), "set_port");
    CHECK(mailport_config_set_security(cfg, security, &err), "set_security");
    CHECK(mailport_config_set_credentials(cfg, USER, PASSWORD, &err), "set_credentials");
    CHECK(mailport_config_set_helo_name(cfg, HELO, &err), "set_helo_name");
    CHECK(mailport_config_add_ca_file(cfg, ca, &err), "add_ca_file");
    CHECK(mailport_config_set_webpki_roots(cfg, false, &err), "set_webpki_roots");
    CHECK(mailport_config_set_system_roots(cfg, false, &err), "set_system_roots");
    if (persistent)
        CHECK(mailport_config_set_persistent(cfg, true, 60000, &err), "set_persistent");
done:
    if (status != 0) {
        mailport_config_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    return status;
}

/* Message number i: From, To, Subject, the text body (and the attachment file, if any); mailport
 * generates the Date and the Message-ID when it sends. */
static int make_message(int i, const char *text, const char *attachment, mailport_message **out) {
    int status = 0;
    mailport_error *err = NULL;
    char subject[32];
    mailport_message *msg = mailport_message_new();
    if (msg == NULL) {
        fprintf(stderr, "sender.c: mailport_message_new returned NULL\n");
        return 1;
    }
    snprintf(subject, sizeof subject, "message %d", i);
    CHECK(mailport_message_set_from(msg, FROM, &err), "set_from");
    CHECK(mailport_message_add_to(msg, TO, &err), "add_to");
    CHECK(mailport_message_set_subject(msg, subject, &err), "set_subject");
    CHECK(mailport_message_set_text(msg, text, &err), "set_text");
    if (attachment != NULL)
        CHECK(mailport_message_attach_file(msg, attachment, NULL, NULL, &err), "attach_file");
done:
    if (status != 0) {
        mailport_message_free(msg);
        msg = NULL;
    }
    *out = msg;
    return status;
}

/* Send message i (with the attachment, if any) on client; adds 1 to *resumed when the receipt
 * says the TLS session was resumed. */
static int send_one(mailport_client *client, int i, const char *text, const char *attachment,
                    bool want_receipt, long *resumed) {
    int status = 0;
    mailport_error *err = NULL;
    mailport_message *msg = NULL;
    mailport_receipt *receipt = NULL;
    if ((status = make_message(i, text, attachment, &msg)) != 0) return status;
    CHECK(mailport_client_send(client, msg, want_receipt || verbose ? &receipt : NULL, &err),
          "send");
    if (receipt != NULL) {
        if (resumed != NULL && mailport_receipt_tls_resumed(receipt)) (*resumed)++;
        if (verbose)
            fprintf(stderr, "mailport (C): %s %s resumed=%s, %llu bytes\n",
                    mailport_receipt_tls_version(receipt), mailport_receipt_tls_cipher(receipt),
                    mailport_receipt_tls_resumed(receipt) ? "yes" : "no",
                    (unsigned long long)mailport_receipt_size(receipt));
    }
done:
    mailport_receipt_free(receipt);
    mailport_message_free(msg);
    return status;
}

/* ---- the modes; each returns the exit status and sets *resumed ---- */

/* N messages on one client: one STARTTLS + AUTH session, QUIT at the end. */
static int run_one(unsigned port, const char *ca, int n, const char *text, long *resumed) {
    int status;
    mailport_error *err = NULL;
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    *resumed = -1;
    if ((status = make_config(port, ca, MAILPORT_SECURITY_STARTTLS, false, &cfg)) != 0) return status;
    CHECK(mailport_client_new(cfg, &client, &err), "client_new");
    for (int i = 0; i < n && status == 0; i++) status = send_one(client, i, text, NULL, false, NULL);
    if (status == 0) CHECK(mailport_client_close(client, &err), "close");
done:
    mailport_client_free(client);
    mailport_config_free(cfg);
    return status;
}

/* A new client per message from one config. Without persistent mode each client connects,
 * says STARTTLS and AUTH, sends, and says QUIT when closed; with it, closing hands the session to
 * the process-wide pool and the next client takes it back (the receipts then describe the pooled
 * session's first handshake, so resumed is -1). */
static int run_each(unsigned port, const char *ca, int n, const char *text, bool persistent,
                    long *resumed) {
    int status;
    mailport_error *err = NULL;
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    long count = 0;
    if ((status = make_config(port, ca, MAILPORT_SECURITY_STARTTLS, persistent, &cfg)) != 0)
        return status;
    for (int i = 0; i < n; i++) {
        CHECK(mailport_client_new(cfg, &client, &err), "client_new");
        if ((status = send_one(client, i, text, NULL, true, &count)) != 0) goto done;
        CHECK(mailport_client_close(client, &err), "close");
        mailport_client_free(client);
        client = NULL;
    }
done:
    mailport_client_free(client);
    mailport_config_free(cfg);
    *resumed = persistent ? -1 : count;
    return status;
}

/* One message with the file attached (read while sending), over implicit TLS. */
static int run_attach(unsigned port, const char *ca, const char *text, const char *attachment,
                      long *resumed) {
    int status;
    mailport_error *err = NULL;
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    *resumed = -1;
    if ((status = make_config(port, ca, MAILPORT_SECURITY_TLS, false, &cfg)) != 0) return status;
    CHECK(mailport_client_new(cfg, &client, &err), "client_new");
    if ((status = send_one(client, 0, text, attachment, false, NULL)) != 0) goto done;
    CHECK(mailport_client_close(client, &err), "close");
done:
    mailport_client_free(client);
    mailport_config_free(cfg);
    return status;
}

/* The message with the attachment rendered into one buffer sized by a first call, as the header
 * tells a caller to: while the size changes between the calls (the Date's length can), again.
 * Sets *out_bytes to the output's length. */
static int run_render(const char *text, const char *attachment, long *out_bytes) {
    int status;
    mailport_error *err = NULL;
    mailport_message *msg = NULL;
    uint8_t *buf = NULL;
    size_t size = 0, got = 0;
    mailport_result rc;
    if ((status = make_message(0, text, attachment, &msg)) != 0) return status;
    for (;;) {
        rc = mailport_message_render(msg, buf, size, &got, &err);
        if (rc == MAILPORT_OK) break;
        if (rc != MAILPORT_ERR_BUFFER_TOO_SMALL || got == 0) {
            status = report("render", rc, &err);
            goto done;
        }
        mailport_error_free(err);
        err = NULL;
        free(buf);
        size = got;
        if ((buf = malloc(size)) == NULL) {
            fprintf(stderr, "sender.c: cannot allocate %zu bytes for the rendered message\n", size);
            status = 1;
            goto done;
        }
    }
    *out_bytes = (long)got;
done:
    free(buf);
    mailport_message_free(msg);
    return status;
}

/* The message with the attachment rendered straight into a file (`mailport_message_render_to_fd`),
 * so memory stays bounded whatever the attachment's size; the file is removed afterwards. Sets
 * *out_bytes to the bytes written. */
static int run_stream(const char *text, const char *attachment, const char *path,
                      long *out_bytes) {
    int status, fd = -1;
    mailport_error *err = NULL;
    mailport_message *msg = NULL;
    uint64_t written = 0;
    if ((status = make_message(0, text, attachment, &msg)) != 0) return status;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "sender.c: cannot create %s: %s\n", path, strerror(errno));
        status = 1;
        goto done;
    }
    CHECK(mailport_message_render_to_fd(msg, fd, &written, &err), "render_to_fd");
    *out_bytes = (long)written;
done:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    mailport_message_free(msg);
    return status;
}

/* ---- measurement ---- */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* A `Vm...:  N kB` line of /proc/self/status, in KiB; -1 when missing. */
static long status_kib(const char *field) {
    char line[256];
    size_t len = strlen(field);
    long value = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            value = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

/* Reset VmHWM to the current RSS, so that the peak at the end is the span's own (where this is
 * not allowed, VmHWM also covers start-up). */
static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL) return;
    fputs("5", f);
    fclose(f);
}

static int usage(const char *why) {
    fprintf(stderr,
            "sender.c: %s\nusage: sender mailport one|each|persistent|attach|render|stream PORT CA N TEXT "
            "[ATTACHMENT]\n",
            why);
    return 2;
}

int main(int argc, char **argv) {
    const char *verbose_env = getenv("SENDER_VERBOSE");
    char *end;
    unsigned long port;
    long n, resumed = -1, rss0, hwm, output = -1;
    bool s7;
    char stream_path[4096];
    const char *mode, *ca, *text, *attachment;
    double start, cpu0, elapsed, used;
    int status;

    if (argc < 7) return usage("too few arguments");
    if (strcmp(argv[1], "mailport") != 0) return usage("the only library here is mailport");
    mode = argv[2];
    s7 = strcmp(mode, "render") == 0 || strcmp(mode, "stream") == 0;
    port = strtoul(argv[3], &end, 10);
    if (*end != '\0' || (port == 0 && !s7) || port > 65535) return usage("bad PORT");
    ca = argv[4];
    n = strtol(argv[5], &end, 10);
    if (*end != '\0' || n < 1 || n > 100000000) return usage("bad N");
    text = argv[6];
    attachment = argc > 7 ? argv[7] : NULL;
    verbose = verbose_env != NULL && *verbose_env != '\0' && strcmp(verbose_env, "0") != 0;
    if ((strcmp(mode, "attach") == 0 || s7) && (attachment == NULL || n != 1))
        return usage("attach, render and stream need ATTACHMENT and N = 1");
    if (strcmp(mode, "one") != 0 && strcmp(mode, "each") != 0 &&
        strcmp(mode, "persistent") != 0 && strcmp(mode, "attach") != 0 && !s7)
        return usage("unknown MODE");
    if (attachment != NULL &&
        (size_t)snprintf(stream_path, sizeof stream_path, "%s.c.eml", attachment) >=
            sizeof stream_path)
        return usage("ATTACHMENT's path is too long");
    if (mailport_abi_version() != MAILPORT_ABI_VERSION) {
        fprintf(stderr, "sender.c: libmailport has ABI %u, this header %u (%s)\n",
                (unsigned)mailport_abi_version(), (unsigned)MAILPORT_ABI_VERSION,
                mailport_version());
        return 1;
    }

    reset_peak();
    rss0 = status_kib("VmRSS");
    cpu0 = cpu();
    start = now();
    if (strcmp(mode, "one") == 0)
        status = run_one((unsigned)port, ca, (int)n, text, &resumed);
    else if (strcmp(mode, "each") == 0)
        status = run_each((unsigned)port, ca, (int)n, text, false, &resumed);
    else if (strcmp(mode, "persistent") == 0)
        status = run_each((unsigned)port, ca, (int)n, text, true, &resumed);
    else if (strcmp(mode, "render") == 0)
        status = run_render(text, attachment, &output);
    else if (strcmp(mode, "stream") == 0)
        status = run_stream(text, attachment, stream_path, &output);
    else
        status = run_attach((unsigned)port, ca, text, attachment, &resumed);
    elapsed = now() - start;
    used = cpu() - cpu0;
    hwm = status_kib("VmHWM");
    if (status != 0) return status;
    if (rss0 < 0 || hwm < 0) {
        fprintf(stderr, "sender.c: cannot read VmRSS/VmHWM from /proc/self/status\n");
        return 1;
    }
    if (s7)
        printf("%.9f %.6f %ld %ld %ld\n", elapsed, used, resumed, hwm - rss0, output);
    else
        printf("%.9f %.6f %ld %ld\n", elapsed, used, resumed, hwm - rss0);
    return 0;
}
