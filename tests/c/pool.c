/*
 * Persistent mode from C: a pooled session sends with the settings of the client that took it,
 * never with those of the client that opened it.
 *
 *   pool HOST PORT CA_PEM
 *
 * The server must offer STARTTLS with a certificate signed by CA_PEM, accept AUTH for
 * user:secret, and refuse (550) recipients containing "nobody". Client A (partial delivery
 * allowed, bodies in its transcript) sends and hands its session to the pool; client B (the
 * defaults: all recipients or none, no bodies) takes it. B's message to a refused and an
 * accepted recipient must go nowhere, and B's transcript must not hold B's body. Prints
 * "MESSAGES_SENT 2" and exits 0 on success; every failed check is printed and makes it exit 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <stdio.h>
#include <string.h>

static const char *const BOTH[2] = {"rcpt@example.org", "nobody@example.org"};

static mailport_client *persistent_client(const char *host, const char *port, const char *ca,
                                          bool lenient) {
    char url[256];
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    mailport_error *err = NULL;
    snprintf(url, sizeof url, "smtp+starttls://user:secret@%s:%s", host, port);
    expect_ok(mailport_config_from_url(url, &cfg, &err), &err, "config_from_url");
    if (cfg == NULL) return NULL;
    expect_ok(mailport_config_add_ca_file(cfg, ca, &err), &err, "add_ca_file");
    expect_ok(mailport_config_set_persistent(cfg, true, 60000, &err), &err, "set_persistent");
    if (lenient) {
        expect_ok(mailport_config_set_allow_partial_recipients(cfg, true, &err), &err,
                  "set_allow_partial_recipients");
        expect_ok(mailport_config_set_transcript_bodies(cfg, true, &err), &err,
                  "set_transcript_bodies");
    }
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new");
    mailport_config_free(cfg);
    return client;
}

static mailport_result send_text(mailport_client *client, const char *const *to, size_t n,
                                 const char *text, mailport_error **err) {
    mailport_receipt *receipt = NULL;
    mailport_result rc = mailport_client_send_raw(client, "sender@example.org", to, n,
                                                  (const uint8_t *)text, strlen(text), &receipt,
                                                  err);
    mailport_receipt_free(receipt);
    return rc;
}

int main(int argc, char **argv) {
    mailport_client *a;
    mailport_client *b;
    mailport_error *err = NULL;
    mailport_result rc;
    char *transcript;
    int sent = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: pool HOST PORT CA_PEM\n");
        return 2;
    }
    a = persistent_client(argv[1], argv[2], argv[3], true);
    if (a == NULL) return 1;
    rc = send_text(a, BOTH, 2, "Subject: a\r\n\r\nbody of A\r\n", &err);
    expect_ok(rc, &err, "A delivers to the accepted recipient");
    sent += rc == MAILPORT_OK;
    mailport_client_free(a); /* hands the session to the pool */

    b = persistent_client(argv[1], argv[2], argv[3], false);
    if (b == NULL) return 1;
    rc = send_text(b, BOTH, 2, "Subject: b\r\n\r\nbody of B\r\n", &err);
    CHECK(rc == MAILPORT_ERR_RECIPIENTS_REJECTED, "B's message goes to all recipients or none");
    CHECK(mailport_error_rejected_count(err) == 1, "B's error names the refused recipient");
    mailport_error_free(err);
    err = NULL;
    rc = send_text(b, BOTH, 1, "Subject: c\r\n\r\nsecond body of B\r\n", &err);
    expect_ok(rc, &err, "B sends to the accepted recipient alone");
    sent += rc == MAILPORT_OK;
    transcript = mailport_client_transcript_copy(b);
    CHECK(contains(transcript, "reusing a pooled connection"), "B took A's session");
    CHECK(!contains(transcript, "body of B"), "B's transcript holds no body");
    CHECK(contains(transcript, "<message: "), "B's transcript gives the body's size");
    mailport_string_free(transcript);
    mailport_client_free(b);

    printf("MESSAGES_SENT %d\n", sent);
    return failures == 0 && sent == 2 ? 0 : 1;
}
