/*
 * mailport C API, message building: build a message with the mailport_message_* setters,
 * render it, send it and a variant of it with mailport_client_send, refuse header injection,
 * and build WordPress wp_mail() calls, one with an invalid Cc and one that is sent. Every object
 * is freed (run under valgrind by tests/c_abi.rs).
 *
 *   message HOST PORT CA_PEM ATTACHMENT
 *
 * The server must offer STARTTLS with a certificate signed by CA_PEM and accept every
 * recipient; ATTACHMENT is an existing file, attached by path. On success the program prints
 * "MESSAGE_ID <id>" for the first message, "MESSAGES_SENT <n>" and exits 0; every failed check
 * is printed and makes it exit 1.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/message.c \
 *            -Ltarget/debug -lmailport
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int messages_sent = 0;

/* Whether `needle` occurs in the `n` bytes at `hay` (rendered messages are not C strings). */
static int has_bytes(const uint8_t *hay, size_t n, const char *needle) {
    size_t m = strlen(needle), i;
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return 1;
    return 0;
}

/* Bytes with a NUL and high bytes in them: attachments are binary-safe. */
static const uint8_t BLOB[] = {0x00, 0x01, 0xff, 'm', 'a', 'i', 'l', 0x00, 0x80, '\n'};

/* ---- 1. build: every kind of field, a file and a memory attachment ---- */

static mailport_message *build_message(const char *attachment) {
    mailport_message *m = mailport_message_new();
    mailport_error *err = NULL;
    CHECK(m != NULL, "mailport_message_new");
    if (m == NULL) return NULL;
    expect_ok(mailport_message_set_from_parts(m, "Zo\xc3\xab Example, Sender", "zoe@example.org",
                                              &err),
              &err, "set_from_parts");
    expect_ok(mailport_message_add_to(m, "Alice <alice@example.org>", &err), &err, "add_to");
    expect_ok(mailport_message_add_cc(m, "carol@example.org", &err), &err, "add_cc");
    expect_ok(mailport_message_add_mailbox_parts(m, MAILPORT_FIELD_CC, "Doe, Dan", "dan@example.org",
                                                 &err),
              &err, "add_mailbox_parts");
    expect_ok(mailport_message_add_bcc(m, "hidden-bcc@example.org", &err), &err, "add_bcc");
    expect_ok(mailport_message_add_reply_to(m, "replies@example.org", &err), &err,
              "add_reply_to");
    /* "Grüße aus C ✓" */
    expect_ok(mailport_message_set_subject(m, "Gr\xc3\xbc\xc3\x9f" "e aus C \xe2\x9c\x93", &err),
              &err, "set_subject");
    expect_ok(mailport_message_add_header(m, "X-Mailport-Test", "message.c", &err), &err,
              "add_header");
    expect_ok(mailport_message_add_header(m, "X-Removed", "soon", &err), &err, "add_header 2");
    CHECK(mailport_message_remove_header(m, "x-removed") == 1, "remove_header");
    expect_ok(mailport_message_set_text(m, "Hello from C.\nSecond line.\n", &err), &err,
              "set_text");
    expect_ok(mailport_message_set_html(m, "<p>Hello from <b>C</b>.</p>\n", &err), &err,
              "set_html");
    expect_ok(mailport_message_attach_file(m, attachment, NULL, NULL, &err), &err,
              "attach_file");
    expect_ok(mailport_message_attach_bytes(m, "blob.bin", "application/octet-stream", BLOB,
                                            sizeof BLOB, &err),
              &err, "attach_bytes");
    return m;
}

/* ---- 2. render: sizing call, a buffer too small, then one of the right size ---- */

static void render_message(const mailport_message *m) {
    mailport_error *err = NULL;
    uint8_t small[16];
    uint8_t *buf;
    size_t n = 0, n2 = 0;
    mailport_result rc;

    rc = mailport_message_render(m, NULL, 0, &n, NULL);
    CHECK(rc == MAILPORT_ERR_BUFFER_TOO_SMALL && n > 500, "render sizing call");
    rc = mailport_message_render(m, small, sizeof small, &n2, &err);
    CHECK(rc == MAILPORT_ERR_BUFFER_TOO_SMALL, "render into 16 bytes");
    CHECK(mailport_error_code(err) == MAILPORT_ERR_BUFFER_TOO_SMALL, "error object on too small");
    CHECK(n2 >= n - 2 && n2 <= n + 2, "render reports the full length when too small");
    CHECK(memcmp(small, "Date: ", 6) == 0, "the truncated copy is the start of the message");
    mailport_error_free(err);
    err = NULL;

    /* Date and boundaries are made afresh for each call: retry if the length moved. */
    buf = malloc(n2);
    CHECK(buf != NULL, "malloc");
    if (buf == NULL) return;
    rc = mailport_message_render(m, buf, n2, &n, &err);
    if (rc == MAILPORT_ERR_BUFFER_TOO_SMALL) {
        uint8_t *bigger = realloc(buf, n);
        mailport_error_free(err);
        err = NULL;
        CHECK(bigger != NULL, "realloc");
        if (bigger == NULL) { free(buf); return; }
        buf = bigger;
        rc = mailport_message_render(m, buf, n, &n, &err);
    }
    expect_ok(rc, &err, "render into a right-sized buffer");
    if (rc == MAILPORT_OK) {
        printf("rendered: %lu bytes\n", (unsigned long)n);
        CHECK(memcmp(buf, "Date: ", 6) == 0, "starts with Date");
        CHECK(has_bytes(buf, n, "\r\nTo: Alice <alice@example.org>\r\n"), "To header");
        CHECK(has_bytes(buf, n, "\r\nCc: carol@example.org, \"Doe, Dan\" <dan@example.org>\r\n"),
              "Cc header, the name added by parts quoted");
        CHECK(has_bytes(buf, n, "\r\nSubject: =?UTF-8?"), "encoded Subject");
        CHECK(has_bytes(buf, n, "\r\nX-Mailport-Test: message.c\r\n"), "custom header");
        CHECK(!has_bytes(buf, n, "X-Removed"), "removed header");
        CHECK(!has_bytes(buf, n, "Bcc") && !has_bytes(buf, n, "hidden-bcc"),
              "Bcc appears nowhere");
        CHECK(has_bytes(buf, n, "multipart/mixed") && has_bytes(buf, n, "multipart/alternative"),
              "MIME structure");
        CHECK(has_bytes(buf, n, "blob.bin") && has_bytes(buf, n, "report.csv"), "attachments");
        CHECK(buf[n - 2] == '\r' && buf[n - 1] == '\n', "ends with CRLF");
    }
    free(buf);
}

/* ---- 3. refused values: injection attempts fail at the setter, naming the field ---- */

static void refused_values(mailport_message *m) {
    mailport_error *err = NULL;
    mailport_result rc;

    rc = mailport_message_add_to(m, "a@b\r\nRCPT TO:<x@y>", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ADDRESS, "CR/LF in add_to gives INVALID_ADDRESS");
    CHECK(mailport_error_invalid_address_count(err) == 1, "one invalid address");
    CHECK(strcmp(mailport_error_invalid_address_field(err, 0), "To") == 0, "its field is To");
    CHECK(contains(mailport_error_invalid_address_input(err, 0), "RCPT TO"), "its input");
    CHECK(mailport_error_invalid_address_reason(err, 0)[0] != '\0', "its reason");
    CHECK(strcmp(mailport_error_invalid_address_field(err, 1), "") == 0, "out of range is \"\"");
    printf("injection refused: %s\n", mailport_error_message(err));
    mailport_error_free(err);
    err = NULL;

    rc = mailport_message_set_subject(m, "Hi\r\nBcc: victim@example.org", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "CR/LF in the subject");
    CHECK(contains(mailport_error_message(err), "Subject"), "the error names Subject");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_message_add_header(m, "X-Evil", "a\nBcc: victim@example.org", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "LF in a header value");
    CHECK(contains(mailport_error_message(err), "X-Evil"), "the error names the header");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_message_add_header(m, "Bcc", "victim@example.org", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "Bcc as a custom header");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_message_set_subject(m, NULL, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT && contains(mailport_error_message(err), "subject"),
          "NULL subject is named");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_message_attach_file(m, "/nonexistent/mailport.pdf", NULL, NULL, &err);
    CHECK(rc == MAILPORT_ERR_ATTACHMENT, "missing attachment file");
    CHECK(contains(mailport_error_message(err), "/nonexistent/mailport.pdf"), "names the path");
    mailport_error_free(err);
    mailport_message_free(NULL);
}

/* ---- 4. wp_mail: an invalid Cc is listed with its field; a valid call goes through ---- */

static mailport_message *wp_mail_messages(void) {
    mailport_wp_mail *wp = mailport_wp_mail_new();
    mailport_message *message = (mailport_message *)&message; /* must be NULLed on entry */
    mailport_error *err = NULL;
    mailport_result rc;
    char value[64];
    size_t n = 0;

    CHECK(wp != NULL, "mailport_wp_mail_new");
    if (wp == NULL) return NULL;
    expect_ok(mailport_wp_mail_set_site_domain(wp, "www.blog.example", &err), &err, "site");
    expect_ok(mailport_wp_mail_add_to(wp, "wp-to@example.org", &err), &err, "wp add_to");
    expect_ok(mailport_wp_mail_set_subject(wp, "From WordPress", &err), &err, "wp subject");
    expect_ok(mailport_wp_mail_set_message(wp, "<p>A WordPress message.</p>", &err), &err,
              "wp message");
    expect_ok(mailport_wp_mail_add_headers(wp, "Content-Type: text/html\r\nCc: not an address",
                                           &err),
              &err, "wp headers");

    rc = mailport_wp_mail_build(wp, &message, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ADDRESS, "wp_mail with an invalid Cc");
    CHECK(message == NULL, "message_out NULL on failure");
    CHECK(mailport_error_invalid_address_count(err) == 1, "one invalid address (wp)");
    CHECK(strcmp(mailport_error_invalid_address_field(err, 0), "Cc") == 0, "its field is Cc");
    CHECK(strcmp(mailport_error_invalid_address_input(err, 0), "not an address") == 0,
          "its input (wp)");
    printf("wp_mail refused: %s\n", mailport_error_message(err));
    mailport_error_free(err);
    mailport_wp_mail_free(wp);

    /* A valid call, with the filters' overrides. */
    wp = mailport_wp_mail_new();
    CHECK(wp != NULL, "mailport_wp_mail_new (2)");
    if (wp == NULL) return NULL;
    expect_ok(mailport_wp_mail_set_site_domain(wp, "www.blog.example", &err), &err, "site (2)");
    expect_ok(mailport_wp_mail_add_to(wp, "wp-to@example.org", &err), &err, "wp add_to (2)");
    expect_ok(mailport_wp_mail_set_subject(wp, "From WordPress", &err), &err, "wp subject (2)");
    expect_ok(mailport_wp_mail_set_message(wp, "<p>A WordPress message.</p>", &err), &err,
              "wp message (2)");
    expect_ok(mailport_wp_mail_add_headers(wp, "Content-Type: text/html\nBcc: wp-bcc@example.org",
                                           &err),
              &err, "wp headers (2)");
    /* One element of a headers array is one header: trimmed, never split (issue 12.1). */
    expect_ok(mailport_wp_mail_add_header(wp, "X-Array-Element: one\r\n", &err), &err,
              "wp add_header");
    rc = mailport_wp_mail_add_header(
        wp,
        "Reply-To: Visitor <v@x.example>\nBcc: victim1@evil.example, victim2@evil.example\n"
        "X-Note:  <visitor@example.org>",
        &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "a headers array element with a line break");
    CHECK(contains(mailport_error_message(err), "\"Reply-To\"") &&
              contains(mailport_error_message(err), "line break"),
          "the error names the header");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_wp_mail_parsed_value(wp, MAILPORT_WP_FROM_EMAIL, value, sizeof value, &n, &err);
    expect_ok(rc, &err, "parsed_value FROM_EMAIL");
    CHECK(strcmp(value, "wordpress@blog.example") == 0 && n == strlen(value), "parsed From");
    rc = mailport_wp_mail_parsed_value(wp, MAILPORT_WP_CONTENT_TYPE, value, sizeof value, &n,
                                       &err);
    expect_ok(rc, &err, "parsed_value CONTENT_TYPE");
    CHECK(strcmp(value, "text/html") == 0, "parsed content type");
    rc = mailport_wp_mail_parsed_value(wp, 42, value, sizeof value, &n, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "unknown which");
    mailport_error_free(err);
    err = NULL;
    /* What the wp_mail_from_name filter returned. */
    expect_ok(mailport_wp_mail_override(wp, MAILPORT_WP_FROM_NAME, "Filtered Name", &err), &err,
              "override FROM_NAME");

    expect_ok(mailport_wp_mail_build(wp, &message, &err), &err, "wp_mail build");
    mailport_wp_mail_free(wp); /* the message does not depend on it */
    return message;
}

/* ---- 5. send: the message, a variant made with clone, the wp_mail message ---- */

static mailport_client *make_client(const char *host, unsigned port, const char *ca) {
    mailport_config *cfg = mailport_config_new();
    mailport_client *client = NULL;
    mailport_error *err = NULL;
    expect_ok(mailport_config_set_host(cfg, host, &err), &err, "set_host");
    expect_ok(mailport_config_set_port(cfg, port, &err), &err, "set_port");
    expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_STARTTLS, &err), &err,
              "set_security");
    expect_ok(mailport_config_add_ca_file(cfg, ca, &err), &err, "add_ca_file");
    expect_ok(mailport_config_set_system_roots(cfg, false, &err), &err, "set_system_roots");
    expect_ok(mailport_config_set_helo_name(cfg, "client.example.org", &err), &err, "helo");
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new");
    mailport_config_free(cfg);
    return client;
}

static void send_messages(mailport_client *client, const mailport_message *m,
                          mailport_message *wp_message) {
    mailport_receipt *receipt = (mailport_receipt *)&receipt; /* must be NULLed on entry */
    mailport_message *variant = NULL;
    mailport_error *err = NULL;
    mailport_result rc;

    rc = mailport_client_send(client, m, &receipt, &err);
    expect_ok(rc, &err, "client_send");
    if (rc == MAILPORT_OK) {
        const char *id = mailport_receipt_message_id(receipt);
        messages_sent++;
        printf("MESSAGE_ID %s\n", id);
        CHECK(id[0] == '<' && contains(id, "@example.org>"), "a generated Message-ID");
        CHECK(mailport_receipt_reply_code(receipt) == 250, "reply 250");
        CHECK(mailport_receipt_accepted_count(receipt) == 4, "To, Cc and Bcc accepted");
        CHECK(strcmp(mailport_receipt_accepted(receipt, 3), "hidden-bcc@example.org") == 0,
              "the Bcc recipient is in the envelope");
        CHECK(strncmp(mailport_receipt_tls_version(receipt), "TLS", 3) == 0, "over TLS");
    } else {
        CHECK(receipt == NULL, "no receipt on failure");
    }
    mailport_receipt_free(receipt);
    receipt = NULL;

    /* A variant: the copy changes, the original does not. */
    expect_ok(mailport_message_clone(m, &variant, &err), &err, "clone");
    if (variant != NULL) {
        expect_ok(mailport_message_add_to(variant, "dave@example.org", &err), &err,
                  "variant add_to");
        expect_ok(mailport_message_set_message_id(variant, "<variant-1@example.org>", &err), &err,
                  "variant message id");
        expect_ok(mailport_message_set_date(variant, 1700000000, &err), &err, "variant date");
        rc = mailport_client_send(client, variant, &receipt, &err);
        expect_ok(rc, &err, "client_send (variant)");
        if (rc == MAILPORT_OK) {
            messages_sent++;
            CHECK(strcmp(mailport_receipt_message_id(receipt), "<variant-1@example.org>") == 0,
                  "the variant's own Message-ID");
            CHECK(mailport_receipt_accepted_count(receipt) == 5, "variant: 5 recipients");
        }
        mailport_receipt_free(receipt);
        receipt = NULL;
        mailport_message_free(variant);
    }

    if (wp_message != NULL) {
        rc = mailport_client_send(client, wp_message, NULL, &err); /* no receipt wanted */
        expect_ok(rc, &err, "client_send (wp_mail)");
        if (rc == MAILPORT_OK) messages_sent++;
    }

    /* A message without recipients fails before anything is sent. */
    variant = mailport_message_new();
    expect_ok(mailport_message_set_from(variant, "zoe@example.org", &err), &err, "set_from");
    rc = mailport_client_send(client, variant, &receipt, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT && receipt == NULL, "no recipients refused");
    CHECK(contains(mailport_error_message(err), "recipients"), "the error says so");
    mailport_error_free(err);
    mailport_message_free(variant);
}

int main(int argc, char **argv) {
    mailport_message *m, *wp_message;
    mailport_client *client;
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT CA_PEM ATTACHMENT\n", argv[0]);
        return 2;
    }
    printf("%s (ABI %u)\n", mailport_version(), (unsigned)mailport_abi_version());

    m = build_message(argv[4]);
    if (m == NULL) return 1;
    render_message(m);
    refused_values(m);
    render_message(m); /* the refused values changed nothing */
    wp_message = wp_mail_messages();
    CHECK(wp_message != NULL, "wp_mail message built");

    client = make_client(argv[1], (unsigned)strtoul(argv[2], NULL, 10), argv[3]);
    if (client != NULL) send_messages(client, m, wp_message);
    mailport_client_free(client);
    mailport_message_free(wp_message);
    mailport_message_free(m);

    printf("MESSAGES_SENT %d\n", messages_sent);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
