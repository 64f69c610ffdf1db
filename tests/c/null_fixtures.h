/*
 * Fixtures and checks for the generated NULL-argument program (tests/c/gen_null_calls.py writes
 * null_calls.c, which includes this file; tests/c_null_arguments.rs builds and runs it).
 *
 *   null_calls PORT CA_FILE SPOOL_DIR FILE REFUSED_PORT
 *
 * PORT is an aiosmtpd server with STARTTLS whose certificate CA_FILE signs and which offers
 * XOAUTH2 (so a send reaches the OAuth token callback); SPOOL_DIR is an empty directory for the
 * outbox; FILE any readable file (attachments); nothing listens on REFUSED_PORT.
 *
 * fx_new_<type>() makes a real, usable handle of each type (the generator looks for these
 * names): a NULL beside a real handle is the case that matters, since a NULL check that runs
 * after the handle is used would not be reached with every argument NULL. A handle that exists
 * only inside a callback has fx_with_<type>(body) instead, which runs `body` there.
 *
 * Prints "CALLED <function> <argument>" before each call (the test compares the functions with
 * the header's) and "NULL_CALLS <calls> <failures>" at the end; exits 1 on any failed check.
 */
#ifndef MAILPORT_TEST_NULL_FIXTURES_H
#define MAILPORT_TEST_NULL_FIXTURES_H

#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned fx_server_port;
static const char *fx_ca_file;
static const char *fx_spool_dir;
static const char *fx_file_path;
static char fx_server_url[64];
static char fx_refused_url[64];
static char *fx_ca_pem;
static size_t fx_ca_pem_len;
static char fx_outbox_id[MAILPORT_OUTBOX_ID_SIZE];
static int fx_userdata;
static unsigned fx_calls;
static const char *fx_current_function = "";
static const char *fx_current_argument = "";

static void fx_calling(const char *function, const char *argument) {
    fx_calls++;
    fx_current_function = function;
    fx_current_argument = argument;
    printf("CALLED %s %s\n", function, argument);
    fflush(stdout);
}

static void fx_fixture_failed(const char *type, const char *function) {
    fprintf(stderr, "FAIL could not make a %s for %s (see the errors above)\n", type, function);
    failures++;
}

/* A call with a required argument NULL: MAILPORT_ERR_NULL_ARGUMENT, an error object (when one
 * was asked for) with that code whose message names the argument, and no other out-object. */
static void fx_null_argument(const char *function, const char *argument, mailport_result rc,
                             int error_wanted, const mailport_error *err, int others_null) {
    if (rc != MAILPORT_ERR_NULL_ARGUMENT) {
        fprintf(stderr, "FAIL %s with %s NULL: %s (%u), not MAILPORT_ERR_NULL_ARGUMENT: %s\n",
                function, argument, mailport_result_name(rc), (unsigned)rc,
                mailport_error_message(err));
        failures++;
    }
    if (error_wanted) {
        if (err == NULL) {
            fprintf(stderr, "FAIL %s with %s NULL: no error object\n", function, argument);
            failures++;
        } else {
            if (mailport_error_code(err) != rc) {
                fprintf(stderr, "FAIL %s with %s NULL: the error's code %s is not the result %s\n",
                        function, argument, mailport_result_name(mailport_error_code(err)),
                        mailport_result_name(rc));
                failures++;
            }
            /* "x[0]" (an array element) is named by the array's name. */
            char name[64];
            snprintf(name, sizeof name, "%s", argument);
            name[strcspn(name, "[")] = '\0';
            if (!contains(mailport_error_message(err), name)) {
                fprintf(stderr, "FAIL %s with %s NULL: the message does not name it: %s\n",
                        function, argument, mailport_error_message(err));
                failures++;
            }
        }
    }
    if (!others_null) {
        fprintf(stderr, "FAIL %s with %s NULL: an out-argument was set anyway\n", function,
                argument);
        failures++;
    }
}

/* A call with a NULL its documentation allows: any result, but an error object exactly when
 * the result is not MAILPORT_OK. */
static void fx_any_result(const char *function, const char *argument, mailport_result rc,
                          int error_wanted, const mailport_error *err) {
    if (error_wanted && (rc == MAILPORT_OK) != (err == NULL)) {
        fprintf(stderr, "FAIL %s with %s NULL: result %s but error object %p\n", function,
                argument, mailport_result_name(rc), (const void *)err);
        failures++;
    }
}

/* A call with a NULL its documentation allows, which promises a return value. */
static void fx_promise(const char *function, const char *argument, int kept,
                       const char *promise) {
    if (!kept) {
        fprintf(stderr, "FAIL %s with %s NULL: the documented return (%s) did not hold\n",
                function, argument, promise);
        failures++;
    }
}

static mailport_config *fx_new_mailport_config(void) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    expect_ok(mailport_config_set_host(cfg, "127.0.0.1", &err), &err, "fixture: host");
    expect_ok(mailport_config_set_port(cfg, fx_server_port, &err), &err, "fixture: port");
    expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_STARTTLS, &err), &err,
              "fixture: security");
    expect_ok(mailport_config_add_ca_file(cfg, fx_ca_file, &err), &err, "fixture: CA");
    expect_ok(mailport_config_set_webpki_roots(cfg, false, &err), &err, "fixture: webpki");
    expect_ok(mailport_config_set_system_roots(cfg, false, &err), &err, "fixture: system");
    expect_ok(mailport_config_set_helo_name(cfg, "client.example.org", &err), &err,
              "fixture: helo");
    /* Calls whose optional argument is NULL go ahead and may talk to the server; a broken
     * server fails them in seconds rather than hanging the test. */
    expect_ok(mailport_config_set_connect_timeout_ms(cfg, 5000, &err), &err, "fixture: timeout");
    expect_ok(mailport_config_set_command_timeout_ms(cfg, 5000, &err), &err, "fixture: timeout");
    return cfg;
}

static mailport_client *fx_new_mailport_client(void) {
    mailport_config *cfg = fx_new_mailport_config();
    mailport_client *client = NULL;
    mailport_error *err = NULL;
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "fixture: client");
    mailport_config_free(cfg);
    return client;
}

static mailport_message *fx_new_mailport_message(void) {
    mailport_message *msg = mailport_message_new();
    mailport_error *err = NULL;
    expect_ok(mailport_message_set_from(msg, "ann@example.org", &err), &err, "fixture: from");
    expect_ok(mailport_message_add_to(msg, "bob@example.org", &err), &err, "fixture: to");
    expect_ok(mailport_message_set_subject(msg, "NULL test", &err), &err, "fixture: subject");
    expect_ok(mailport_message_set_text(msg, "Hello.\n", &err), &err, "fixture: text");
    return msg;
}

static mailport_bytes *fx_new_mailport_bytes(void) {
    mailport_message *msg = fx_new_mailport_message();
    mailport_bytes *bytes = NULL;
    mailport_error *err = NULL;
    expect_ok(mailport_message_render_bytes(msg, &bytes, &err), &err, "fixture: render bytes");
    mailport_message_free(msg);
    return bytes;
}

/* Where the render-to-fd calls write: /dev/null, opened once (never fd 0, the test's stdin). */
static int fx_dev_null(void) {
    static int fd = -1;
    if (fd < 0)
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    return fd;
}

static mailport_error *fx_new_mailport_error(void) {
    mailport_config *cfg = NULL;
    mailport_error *err = NULL;
    mailport_result rc = mailport_config_from_url("gopher://nowhere", &cfg, &err);
    CHECK(rc != MAILPORT_OK && err != NULL && cfg == NULL, "fixture: a URL error");
    mailport_config_free(cfg);
    return err;
}

static mailport_receipt *fx_new_mailport_receipt(void) {
    mailport_client *client = fx_new_mailport_client();
    mailport_message *msg = fx_new_mailport_message();
    mailport_receipt *receipt = NULL;
    mailport_error *err = NULL;
    if (client != NULL)
        expect_ok(mailport_client_send(client, msg, &receipt, &err), &err, "fixture: send");
    mailport_message_free(msg);
    mailport_client_free(client);
    return receipt;
}

static mailport_probe_options *fx_new_mailport_probe_options(void) {
    mailport_probe_options *opts = mailport_probe_options_new();
    const uint16_t ports[1] = {(uint16_t)fx_server_port};
    mailport_error *err = NULL;
    expect_ok(mailport_probe_options_set_ports(opts, ports, 1, &err), &err, "fixture: ports");
    expect_ok(mailport_probe_options_set_deadline_ms(opts, 10000, &err), &err,
              "fixture: deadline");
    return opts;
}

static mailport_report *fx_new_mailport_report(void) {
    mailport_config *cfg = fx_new_mailport_config();
    mailport_probe_options *opts = fx_new_mailport_probe_options();
    mailport_report *report = NULL;
    mailport_error *err = NULL;
    expect_ok(mailport_probe(cfg, opts, &report, &err), &err, "fixture: probe");
    mailport_probe_options_free(opts);
    mailport_config_free(cfg);
    return report;
}

static mailport_wp_mail *fx_new_mailport_wp_mail(void) {
    mailport_wp_mail *wp = mailport_wp_mail_new();
    mailport_error *err = NULL;
    expect_ok(mailport_wp_mail_add_to(wp, "bob@example.org", &err), &err, "fixture: wp to");
    expect_ok(mailport_wp_mail_set_subject(wp, "NULL test", &err), &err, "fixture: wp subject");
    expect_ok(mailport_wp_mail_set_message(wp, "Hello.", &err), &err, "fixture: wp message");
    expect_ok(mailport_wp_mail_set_site_domain(wp, "example.org", &err), &err,
              "fixture: wp domain");
    return wp;
}

static mailport_outbox *fx_new_mailport_outbox(void) {
    mailport_config *cfg = fx_new_mailport_config();
    const mailport_config *connections[1] = {cfg};
    mailport_outbox *outbox = NULL;
    mailport_error *err = NULL;
    expect_ok(mailport_outbox_open(fx_spool_dir, connections, 1, &outbox, &err), &err,
              "fixture: outbox");
    mailport_config_free(cfg);
    return outbox;
}

/* A fresh entry each time: a run made by another call may have sent (and removed) older ones. */
static mailport_outbox_record *fx_new_mailport_outbox_record(void) {
    mailport_outbox *outbox = fx_new_mailport_outbox();
    mailport_message *msg = fx_new_mailport_message();
    mailport_outbox_record *record = NULL;
    mailport_error *err = NULL;
    char id[MAILPORT_OUTBOX_ID_SIZE];
    if (outbox != NULL) {
        expect_ok(mailport_outbox_enqueue(outbox, msg, id, sizeof id, NULL, &err), &err,
                  "fixture: enqueue");
        expect_ok(mailport_outbox_get(outbox, id, &record, &err), &err, "fixture: record");
    }
    mailport_message_free(msg);
    mailport_outbox_free(outbox);
    return record;
}

static mailport_outbox_records *fx_new_mailport_outbox_records(void) {
    mailport_outbox *outbox = fx_new_mailport_outbox();
    mailport_outbox_records *records = NULL;
    mailport_error *err = NULL;
    if (outbox != NULL)
        expect_ok(mailport_outbox_list(outbox, NULL, 0, 10, &records, &err), &err,
                  "fixture: records");
    mailport_outbox_free(outbox);
    return records;
}

static mailport_outbox_summary *fx_new_mailport_outbox_summary(void) {
    mailport_outbox *outbox = fx_new_mailport_outbox();
    mailport_outbox_summary *summary = NULL;
    mailport_error *err = NULL;
    if (outbox != NULL)
        expect_ok(mailport_outbox_run(outbox, 10, 10000, &summary, &err), &err,
                  "fixture: summary");
    mailport_outbox_free(outbox);
    return summary;
}

/* A string mailport handed over as owned, for mailport_string_free. */
static char *fx_owned_string(void) {
    mailport_client *client = fx_new_mailport_client();
    char *s = mailport_client_transcript_copy(client);
    CHECK(s != NULL, "fixture: an owned string");
    mailport_client_free(client);
    return s;
}

/* The token handle exists only while mailport calls the token callback: send through a config
 * whose callback runs `body`, then refuses to give a token (the send fails; that is expected). */
struct fx_token_run {
    void (*body)(mailport_oauth_token *);
    int ran;
};

static int32_t fx_token_callback(void *user_data, const char *username, bool previous_refused,
                                 mailport_oauth_token *out) {
    struct fx_token_run *run = user_data;
    (void)username;
    (void)previous_refused;
    if (!run->ran) run->body(out);
    run->ran = 1;
    return 1;
}

static void fx_with_mailport_oauth_token(void (*body)(mailport_oauth_token *)) {
    struct fx_token_run run = {body, 0};
    mailport_config *cfg = fx_new_mailport_config();
    mailport_error *err = NULL;
    expect_ok(mailport_config_set_oauth_token_callback(cfg, "nulltest@example.org",
                                                        fx_token_callback, &run, &err),
              &err, "fixture: token callback");
    mailport_client *client = NULL;
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "fixture: token client");
    mailport_message *msg = fx_new_mailport_message();
    mailport_receipt *receipt = NULL;
    mailport_result rc = mailport_client_send(client, msg, &receipt, &err);
    CHECK(rc == MAILPORT_ERR_OAUTH_CALLBACK, "the refusing token callback fails the send");
    CHECK(run.ran, "the server offered XOAUTH2, so mailport asked the token callback");
    mailport_error_free(err);
    mailport_receipt_free(receipt);
    mailport_message_free(msg);
    mailport_client_free(client);
    mailport_config_free(cfg);
}

static char *fx_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *data = malloc(65536);
    *len = data == NULL ? 0 : fread(data, 1, 65536, f);
    fclose(f);
    return data;
}

static void fx_init(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT CA_FILE SPOOL_DIR FILE REFUSED_PORT\n", argv[0]);
        exit(2);
    }
    fx_server_port = (unsigned)atoi(argv[1]);
    fx_ca_file = argv[2];
    fx_spool_dir = argv[3];
    fx_file_path = argv[4];
    snprintf(fx_server_url, sizeof fx_server_url, "smtp://127.0.0.1:%s", argv[1]);
    snprintf(fx_refused_url, sizeof fx_refused_url, "http://127.0.0.1:%s/token", argv[5]);
    fx_ca_pem = fx_read_file(fx_ca_file, &fx_ca_pem_len);
    if (fx_ca_pem == NULL || fx_ca_pem_len == 0) {
        fprintf(stderr, "cannot read %s\n", fx_ca_file);
        exit(2);
    }
    /* One queued entry, for the calls that name an entry by id. */
    mailport_outbox *outbox = fx_new_mailport_outbox();
    mailport_message *msg = fx_new_mailport_message();
    mailport_error *err = NULL;
    size_t n = 0;
    if (outbox != NULL)
        expect_ok(mailport_outbox_enqueue(outbox, msg, fx_outbox_id, sizeof fx_outbox_id, &n,
                                          &err),
                  &err, "fixture: enqueue");
    mailport_message_free(msg);
    mailport_outbox_free(outbox);
    if (failures != 0) exit(1);
}

static int fx_finish(void) {
    free(fx_ca_pem);
    printf("NULL_CALLS %u %d\n", fx_calls, failures);
    return failures == 0 ? 0 : 1;
}

#endif
