/*
 * mailport C API end to end: configure, send, read the receipt, exercise the error paths, send
 * from several threads at once, and free everything (run under valgrind by tests/c_abi.rs).
 *
 *   send HOST PORT CA_PEM
 *
 * The server must offer STARTTLS with a certificate signed by CA_PEM, accept AUTH for
 * user:secret, and refuse (550) recipients containing "nobody". On success the program prints
 * "MESSAGES_SENT <n>" and exits 0; every failed check is printed and makes it exit 1.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/send.c \
 *            -Ltarget/debug -lmailport -lpthread
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int messages_sent = 0;

/* ---- log callback: counts events per kind, checks the text contract ---- */

struct log_counts {
    pthread_mutex_t lock;
    unsigned info, sent, received, other;
    unsigned secrets_seen;
};

static void on_log(void *userdata, uint32_t kind, const char *text, size_t len) {
    struct log_counts *counts = userdata;
    pthread_mutex_lock(&counts->lock);
    switch (kind) {
    case MAILPORT_LOG_INFO: counts->info++; break;
    case MAILPORT_LOG_SENT: counts->sent++; break;
    case MAILPORT_LOG_RECEIVED: counts->received++; break;
    default: counts->other++; break;
    }
    /* The password, and AUTH PLAIN's base64 of "\0user\0secret", must never be logged. */
    if (strstr(text, "secret") || strstr(text, "AHVzZXIAc2VjcmV0")) counts->secrets_seen++;
    pthread_mutex_unlock(&counts->lock);
    CHECK(strlen(text) == len, "log text is NUL-terminated at len");
    CHECK(strchr(text, '\r') == NULL && strchr(text, '\n') == NULL, "log lines carry no CR/LF");
    CHECK(strchr(text, '\x1b') == NULL && strchr(text, '\x07') == NULL, "log lines carry no ESC/BEL");
}

static const char MESSAGE[] =
    "From: Sender <sender@example.org>\r\n"
    "To: A <a@example.org>, B <b@example.org>\r\n"
    "Subject: mailport C test\r\n"
    "\r\n"
    "Hello from C.\r\n"
    ".A line starting with a dot.\r\n";

static mailport_result send_one(mailport_client *client, const char *const *to, size_t n,
                                mailport_receipt **receipt, mailport_error **err) {
    return mailport_client_send_raw(client, "sender@example.org", to, n,
                                    (const uint8_t *)MESSAGE, sizeof MESSAGE - 1, receipt, err);
}

static void print_receipt(const mailport_receipt *r) {
    size_t i;
    printf("receipt: %u [%s] %s\n", (unsigned)mailport_receipt_reply_code(r),
           mailport_receipt_enhanced_status(r), mailport_receipt_server_reply(r));
    printf("  port %u, security %u, %s %s, %llu bytes\n", (unsigned)mailport_receipt_port(r),
           (unsigned)mailport_receipt_security(r), mailport_receipt_tls_version(r),
           mailport_receipt_tls_cipher(r), (unsigned long long)mailport_receipt_size(r));
    for (i = 0; i < mailport_receipt_accepted_count(r); i++)
        printf("  accepted: %s\n", mailport_receipt_accepted(r, i));
}

/* A config made with the setters: STARTTLS, AUTH, private CA, logging. */
static mailport_config *config_from_setters(const char *host, unsigned port, const char *ca,
                                            const char *password, struct log_counts *counts) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    CHECK(cfg != NULL, "mailport_config_new");
    expect_ok(mailport_config_set_host(cfg, host, &err), &err, "set_host");
    expect_ok(mailport_config_set_port(cfg, port, &err), &err, "set_port");
    expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_STARTTLS, &err), &err,
              "set_security");
    expect_ok(mailport_config_set_credentials(cfg, "user", password, &err), &err,
              "set_credentials");
    expect_ok(mailport_config_add_ca_file(cfg, ca, &err), &err, "add_ca_file");
    expect_ok(mailport_config_set_system_roots(cfg, false, &err), &err, "set_system_roots");
    expect_ok(mailport_config_set_helo_name(cfg, "client.example.org", &err), &err, "helo");
    expect_ok(mailport_config_set_connect_timeout_ms(cfg, 10000, &err), &err, "timeout");
    expect_ok(mailport_config_set_command_timeout_ms(cfg, 30000, &err), &err, "timeout");
    if (counts != NULL)
        expect_ok(mailport_config_set_log_callback(cfg, on_log, counts, &err), &err, "log cb");
    return cfg;
}

static void check_transcript(mailport_client *client) {
    size_t n = 0, n2 = 0;
    char small[8];
    char *buf, *copy;
    mailport_result rc = mailport_client_transcript(client, NULL, 0, &n);
    CHECK(rc == MAILPORT_ERR_BUFFER_TOO_SMALL && n > 0, "transcript sizing call");
    buf = malloc(n + 1);
    CHECK(buf != NULL, "malloc");
    rc = mailport_client_transcript(client, buf, n + 1, &n2);
    CHECK(rc == MAILPORT_OK && n2 == n && strlen(buf) == n, "transcript copy-out");
    CHECK(contains(buf, "C: EHLO") || contains(buf, "C: ehlo"), "transcript has EHLO");
    CHECK(!contains(buf, "secret") && !contains(buf, "AHVzZXIAc2VjcmV0"),
          "transcript never holds the password");
    rc = mailport_client_transcript(client, small, sizeof small, &n2);
    CHECK(rc == MAILPORT_ERR_BUFFER_TOO_SMALL && n2 == n && strlen(small) < sizeof small,
          "truncated transcript is NUL-terminated");
    copy = mailport_client_transcript_copy(client);
    CHECK(copy != NULL && strlen(copy) >= n / 2, "transcript_copy");
    mailport_string_free(copy);
    free(buf);
}

/* ---- 1. the main send: setters, two recipients, receipt, keep-alive, reconnect ---- */

static void send_with_setters(const char *host, unsigned port, const char *ca) {
    struct log_counts counts;
    const char *to[2] = {"a@example.org", "b@example.org"};
    mailport_config *cfg;
    mailport_client *client = NULL;
    mailport_receipt *receipt = NULL;
    mailport_error *err = NULL;
    mailport_result rc;

    memset(&counts, 0, sizeof counts);
    pthread_mutex_init(&counts.lock, NULL);
    cfg = config_from_setters(host, port, ca, "secret", &counts);
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new");
    mailport_config_free(cfg); /* the client holds a copy */
    if (client == NULL) return;

    rc = send_one(client, to, 2, &receipt, &err);
    expect_ok(rc, &err, "send_raw (setters)");
    if (rc == MAILPORT_OK) {
        messages_sent++;
        print_receipt(receipt);
        CHECK(mailport_receipt_reply_code(receipt) == 250, "reply 250");
        CHECK(strcmp(mailport_receipt_enhanced_status(receipt), "2.0.0") == 0, "2.0.0");
        CHECK(contains(mailport_receipt_server_reply(receipt), "queued as"), "queue id");
        CHECK(mailport_receipt_accepted_count(receipt) == 2, "2 accepted");
        CHECK(strcmp(mailport_receipt_accepted(receipt, 1), "b@example.org") == 0, "accepted[1]");
        CHECK(mailport_receipt_accepted(receipt, 2) == NULL, "accepted out of range");
        CHECK(mailport_receipt_rejected_count(receipt) == 0, "none rejected");
        CHECK(mailport_receipt_port(receipt) == port, "port");
        CHECK(mailport_receipt_security(receipt) == MAILPORT_SECURITY_STARTTLS, "security");
        CHECK(strncmp(mailport_receipt_tls_version(receipt), "TLS", 3) == 0, "tls version");
        CHECK(mailport_receipt_tls_cipher(receipt)[0] != '\0', "tls cipher");
        CHECK(mailport_receipt_size(receipt) == sizeof MESSAGE - 1, "size");
    }
    mailport_receipt_free(receipt);

    expect_ok(mailport_client_noop(client, &err), &err, "noop");
    expect_ok(mailport_client_reset(client, &err), &err, "reset");
    expect_ok(mailport_client_close(client, &err), &err, "close");
    /* After close, the next send reconnects; no receipt wanted. */
    rc = send_one(client, to, 1, NULL, &err);
    expect_ok(rc, &err, "send_raw after close");
    if (rc == MAILPORT_OK) messages_sent++;

    check_transcript(client);
    mailport_client_free(client);

    printf("log events: %u info, %u sent, %u received\n", counts.info, counts.sent,
           counts.received);
    CHECK(counts.sent > 5 && counts.received > 5, "log callback saw the session");
    CHECK(counts.other == 0, "only known log kinds");
    CHECK(counts.secrets_seen == 0, "no secret reached the log callback");
    pthread_mutex_destroy(&counts.lock);
}

/* ---- 2. the same through a connection URL ---- */

static void send_with_url(unsigned port, const char *ca) {
    char url[256];
    const char *to[1] = {"url@example.org"};
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    mailport_receipt *receipt = NULL;
    mailport_error *err = NULL;
    mailport_result rc;

    snprintf(url, sizeof url, "smtp+starttls://user:secret@127.0.0.1:%u", port);
    expect_ok(mailport_config_from_url(url, &cfg, &err), &err, "config_from_url");
    if (cfg == NULL) return;
    expect_ok(mailport_config_add_ca_file(cfg, ca, &err), &err, "add_ca_file (url)");
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new (url)");
    mailport_config_free(cfg);
    if (client == NULL) return;
    rc = send_one(client, to, 1, &receipt, &err);
    expect_ok(rc, &err, "send_raw (url)");
    if (rc == MAILPORT_OK) {
        messages_sent++;
        CHECK(mailport_receipt_security(receipt) == MAILPORT_SECURITY_STARTTLS, "url security");
        CHECK(mailport_receipt_accepted_count(receipt) == 1, "url accepted");
    }
    mailport_receipt_free(receipt);
    mailport_client_free(client);
}

/* ---- 3. error paths ---- */

static void check_error(mailport_result rc, mailport_error **errp, mailport_result expected,
                        const char *needle, const char *what) {
    mailport_error *err = *errp;
    *errp = NULL;
    if (rc != expected || !contains(mailport_error_message(err), needle)) {
        fprintf(stderr, "FAIL %s: got %s \"%s\", expected %s mentioning \"%s\"\n", what,
                mailport_result_name(rc), mailport_error_message(err),
                mailport_result_name(expected), needle);
        failures++;
    }
    CHECK(mailport_error_code(err) == rc, "error object carries the code");
    mailport_error_free(err);
}

static void error_paths(const char *host, unsigned port, const char *ca) {
    const char *to[2] = {"a@example.org", "b@example.org"};
    const char *null_in_array[2] = {"a@example.org", NULL};
    const char *bad_to[1] = {"a@example.org>\r\nRCPT TO:<evil@example.org"};
    const char *refused_to[2] = {"ok@example.org", "nobody@example.org"};
    mailport_config *cfg = mailport_config_new();
    mailport_config *url_cfg = (mailport_config *)&url_cfg; /* must be NULLed on entry */
    mailport_client *client = NULL, *bad_client = NULL;
    mailport_receipt *receipt = (mailport_receipt *)&receipt; /* must be NULLed on entry */
    mailport_error *err = NULL;
    mailport_result rc;
    struct log_counts hostile_log = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};

    /* Static descriptions and names. */
    CHECK(strcmp(mailport_result_name(MAILPORT_ERR_AUTH_FAILED), "MAILPORT_ERR_AUTH_FAILED") == 0,
          "result_name");
    CHECK(strcmp(mailport_result_name(MAILPORT_OK), "MAILPORT_OK") == 0, "result_name OK");
    CHECK(contains(mailport_result_str(MAILPORT_ERR_AUTH_FAILED), "credentials"), "result_str");
    CHECK(strcmp(mailport_result_str(12345), "unknown error") == 0, "result_str unknown");
    CHECK(strcmp(mailport_result_name(12345), "MAILPORT_ERR_UNKNOWN") == 0, "name unknown");
    CHECK(mailport_abi_version() == MAILPORT_ABI_VERSION, "ABI version");
    CHECK(strncmp(mailport_version(), "mailport/", 9) == 0, "version string");

    /* NULL arguments: an error naming the parameter, never a crash. */
    rc = mailport_config_set_host(cfg, NULL, &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "host", "set_host(NULL)");
    rc = mailport_config_set_host(NULL, "x", &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "cfg", "set_host(cfg=NULL)");
    rc = mailport_config_set_host(NULL, "x", NULL); /* no error object wanted */
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "NULL error_out is fine");
    rc = mailport_client_new(NULL, &client, &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "cfg", "client_new(NULL)");
    rc = mailport_config_from_url(NULL, &url_cfg, &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "url", "from_url(NULL)");
    CHECK(url_cfg == NULL, "config_out NULLed on entry");
    rc = mailport_config_from_url("smtp://example.org", NULL, &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "config_out", "from_url(out=NULL)");
    rc = mailport_client_send_raw(NULL, "a@example.org", to, 2, (const uint8_t *)MESSAGE,
                                  sizeof MESSAGE - 1, &receipt, &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "client", "send_raw(NULL)");
    CHECK(receipt == NULL, "receipt_out NULLed on entry");
    mailport_config_free(NULL);
    mailport_client_free(NULL);
    mailport_receipt_free(NULL);
    mailport_error_free(NULL);
    mailport_string_free(NULL);

    /* Invalid values: INVALID_ARGUMENT naming the field. */
    rc = mailport_config_set_host(cfg, "mail\xff.example.org", &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "UTF-8", "invalid UTF-8");
    rc = mailport_config_set_port(cfg, 70000, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "port", "port 70000");
    rc = mailport_config_set_security(cfg, 99, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "security", "security 99");
    rc = mailport_client_new(cfg, &client, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "host is not set", "no host");
    CHECK(client == NULL, "client_out stays NULL on failure");
    mailport_config_free(cfg);
    url_cfg = (mailport_config *)&url_cfg;
    rc = mailport_config_from_url("http://example.org", &url_cfg, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "url", "bad url");
    CHECK(url_cfg == NULL, "config_out NULL after a failed from_url");
    /* A URL that lacks its @host puts the password where the port goes: never echoed. */
    rc = mailport_config_from_url("smtp://me:hunter2", &url_cfg, &err);
    CHECK(!contains(mailport_error_message(err), "hunter2"), "the password is not echoed");
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "user:password@host", "url lacks host");

    /* A CA file that does not exist is reported by name when the client is made. */
    cfg = config_from_setters(host, port, "/nonexistent/mailport-ca.pem", "secret", NULL);
    rc = mailport_client_new(cfg, &bad_client, &err);
    CHECK(rc != MAILPORT_OK && bad_client == NULL, "missing CA file refused");
    check_error(rc, &err, rc, "/nonexistent/mailport-ca.pem", "CA file");
    mailport_config_free(cfg);

    /* Bad addresses, checked before anything is sent. */
    cfg = config_from_setters(host, port, ca, "secret", NULL);
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new (errors)");
    mailport_config_free(cfg);
    if (client == NULL) return;
    rc = send_one(client, bad_to, 1, NULL, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "recipient 1", "CR/LF in recipient");
    rc = mailport_client_send_raw(client, "sender@exa mple.org", to, 2, (const uint8_t *)"x", 1,
                                  NULL, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "envelope sender", "bad sender");
    /* ESMTP parameters smuggled in after a quoted local part (issue 12.3). */
    {
        const char *smuggled[] = {
            "\"a\"@evil.example> NOTIFY=NEVER ORCPT=rfc822;x\"@victim.example"};
        rc = send_one(client, smuggled, 1, NULL, &err);
        check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "recipient 1", "RCPT parameters");
        rc = mailport_client_send_raw(client, "\"a\"@evil.example> RET=FULL ENVID=x\"@victim.example",
                                      to, 2, (const uint8_t *)"x", 1, NULL, &err);
        check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "local part", "MAIL parameters");
    }
    rc = send_one(client, null_in_array, 2, NULL, &err);
    check_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "recipients[1]", "NULL recipient");
    rc = send_one(client, to, 0, NULL, &err);
    check_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "recipients", "no recipients");

    /* A refused recipient: the error lists it with the server's reply; nothing is sent. The
     * reply carries a bare CR and terminal escapes (--hostile-text): they arrive escaped, in the
     * log callback (on_log checks each line), the error and the transcript (issue 12.7). */
    mailport_client_free(client);
    client = NULL;
    cfg = config_from_setters(host, port, ca, "secret", &hostile_log);
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new (hostile text)");
    mailport_config_free(cfg);
    if (client == NULL) return;
    rc = send_one(client, refused_to, 2, &receipt, &err);
    if (rc != MAILPORT_ERR_RECIPIENTS_REJECTED) {
        fprintf(stderr, "FAIL refused recipient: got %s: %s\n", mailport_result_name(rc),
                mailport_error_message(err));
        failures++;
    } else {
        CHECK(mailport_error_rejected_count(err) == 1, "one rejected");
        CHECK(strcmp(mailport_error_rejected_address(err, 0), "nobody@example.org") == 0,
              "rejected address");
        CHECK(mailport_error_rejected_reply_code(err, 0) == 550, "rejected 550");
        CHECK(contains(mailport_error_rejected_reply(err, 0), "5.1.1"), "rejected reply text");
        CHECK(contains(mailport_error_rejected_reply(err, 0), "rejected\\r* forged") &&
                  contains(mailport_error_rejected_reply(err, 0), "\\u{1b}[2J"),
              "the bare CR and ESC are shown escaped");
        CHECK(strpbrk(mailport_error_rejected_reply(err, 0), "\r\n\x1b\x07") == NULL &&
                  strpbrk(mailport_error_message(err), "\r\n\x1b\x07") == NULL &&
                  strpbrk(mailport_error_transcript(err), "\r\x1b\x07") == NULL,
              "no control character from the server in the error");
        CHECK(hostile_log.received > 0, "the hostile session was logged");
        CHECK(mailport_error_rejected_address(err, 1) == NULL, "rejected out of range");
        CHECK(!mailport_error_is_transient(err), "550 is permanent");
        CHECK(receipt == NULL, "no receipt on failure");
    }
    mailport_error_free(err);
    err = NULL;
    mailport_client_free(client);
    client = NULL;

    /* A wrong password: AUTH_FAILED with the server's 535, a hint, and a redacted transcript. */
    cfg = config_from_setters(host, port, ca, "wrong-password", NULL);
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new (wrong password)");
    mailport_config_free(cfg);
    if (client == NULL) return;
    rc = send_one(client, to, 2, NULL, &err);
    CHECK(rc == MAILPORT_ERR_AUTH_FAILED, "wrong password gives AUTH_FAILED");
    CHECK(mailport_error_code(err) == MAILPORT_ERR_AUTH_FAILED, "error code AUTH_FAILED");
    CHECK(mailport_error_reply_code(err) == 535, "reply code 535");
    CHECK(mailport_error_hint(err)[0] != '\0', "a hint");
    CHECK(!mailport_error_is_transient(err), "535 is permanent");
    CHECK(mailport_error_transcript(err)[0] != '\0', "error transcript");
    CHECK(!contains(mailport_error_transcript(err), "wrong-password"), "password redacted");
    printf("wrong password: %s\n  reply: %u [%s] %s\n  hint: %s\n", mailport_error_message(err),
           (unsigned)mailport_error_reply_code(err), mailport_error_enhanced_status(err),
           mailport_error_server_reply(err), mailport_error_hint(err));
    mailport_error_free(err);
    mailport_client_free(client);
}

/* ---- 4. threads: each with its own client, sending at the same time ---- */

#define THREADS 4
#define PER_THREAD 3

struct worker {
    const mailport_config *cfg; /* shared, read-only while the threads run */
    int index;
    int sent;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    mailport_client *client = NULL;
    mailport_error *err = NULL;
    char rcpt[64];
    const char *to[1];
    int i;

    expect_ok(mailport_client_new(w->cfg, &client, &err), &err, "client_new (thread)");
    if (client == NULL) return NULL;
    for (i = 0; i < PER_THREAD; i++) {
        mailport_receipt *receipt = NULL;
        mailport_result rc;
        snprintf(rcpt, sizeof rcpt, "thread%d-msg%d@example.org", w->index, i);
        to[0] = rcpt;
        rc = send_one(client, to, 1, &receipt, &err);
        expect_ok(rc, &err, "send_raw (thread)");
        if (rc == MAILPORT_OK) {
            w->sent++;
            CHECK(strcmp(mailport_receipt_accepted(receipt, 0), rcpt) == 0, "thread receipt");
        }
        mailport_receipt_free(receipt);
    }
    mailport_client_free(client);
    return NULL;
}

static void send_from_threads(const char *host, unsigned port, const char *ca) {
    struct log_counts counts;
    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    mailport_config *cfg;
    int i;

    memset(&counts, 0, sizeof counts);
    pthread_mutex_init(&counts.lock, NULL);
    cfg = config_from_setters(host, port, ca, "secret", &counts);
    for (i = 0; i < THREADS; i++) {
        workers[i].cfg = cfg;
        workers[i].index = i;
        workers[i].sent = 0;
        CHECK(pthread_create(&threads[i], NULL, worker_main, &workers[i]) == 0, "pthread_create");
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].sent == PER_THREAD, "each thread sent all its messages");
        messages_sent += workers[i].sent;
    }
    mailport_config_free(cfg);
    CHECK(counts.secrets_seen == 0, "no secret logged (threads)");
    CHECK(counts.sent >= THREADS * PER_THREAD * 3, "threads logged their sessions");
    printf("threads: %d x %d messages, %u log events\n", THREADS, PER_THREAD,
           counts.info + counts.sent + counts.received);
    pthread_mutex_destroy(&counts.lock);
}

int main(int argc, char **argv) {
    const char *host, *ca;
    unsigned port;
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT CA_PEM\n", argv[0]);
        return 2;
    }
    host = argv[1];
    port = (unsigned)strtoul(argv[2], NULL, 10);
    ca = argv[3];

    printf("%s (ABI %u)\n", mailport_version(), (unsigned)mailport_abi_version());
    send_with_setters(host, port, ca);
    send_with_url(port, ca);
    error_paths(host, port, ca);
    send_from_threads(host, port, ca);

    printf("MESSAGES_SENT %d\n", messages_sent);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
