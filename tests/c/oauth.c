/*
 * OAuth 2.0 from C: a refresh grant whose rotated refresh token reaches the rotation callback,
 * the token callback (told when its token was refused), a failing callback, and invalid_grant
 * with its code, name and hint; no secret in any error.
 *
 *   oauth HOST PORT SMTP_CA TOKEN_URL OAUTH_CA
 *
 * The SMTP server must offer STARTTLS with a certificate signed by SMTP_CA and accept, for
 * site@example.test, the tokens the endpoint at TOKEN_URL (certificate signed by OAUTH_CA)
 * issued, and the fixed token "cb-token-1". The endpoint must know the client
 * "mailport-app" with secret "client-secret-c" and the refresh token "rt-c-initial", and
 * rotate refresh tokens. Prints "OAUTH_OK" and exits 0 on success; every failed check is
 * printed and makes it exit 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *USER = "site@example.test";
static const char *SECRET = "client-secret-c";
static const char *REFRESH = "rt-c-initial";
static const char *const TO[1] = {"ann@example.org"};
static const char *TEXT = "From: site@example.test\r\nTo: ann@example.org\r\nSubject: c\r\n\r\nHi.\r\n";

struct rotation {
    int count;
    char user[128];
    char token[256];
};

static void on_rotation(void *user_data, const char *username, const char *refresh_token) {
    struct rotation *r = user_data;
    r->count++;
    snprintf(r->user, sizeof r->user, "%s", username);
    snprintf(r->token, sizeof r->token, "%s", refresh_token);
}

struct calls {
    int count;
    bool refused[4];
};

static int32_t token_callback(void *user_data, const char *username, bool previous_refused,
                              mailport_oauth_token *out) {
    struct calls *c = user_data;
    if (c->count < 4) c->refused[c->count] = previous_refused;
    c->count++;
    CHECK(strcmp(username, USER) == 0, "the callback is asked for the configured user");
    /* The stale token first; a fresh one once told it was refused. */
    return mailport_oauth_token_set(out, previous_refused ? "cb-token-1" : "cb-stale-0", 3600) ==
                   MAILPORT_OK
               ? 0
               : 1;
}

static int32_t failing_callback(void *user_data, const char *username, bool previous_refused,
                                mailport_oauth_token *out) {
    (void)user_data;
    (void)username;
    (void)previous_refused;
    mailport_oauth_token_fail(out, "the vault is sealed");
    return 1;
}

static mailport_config *base_config(char **argv) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    unsigned long port = strtoul(argv[2], NULL, 10);
    expect_ok(mailport_config_set_host(cfg, argv[1], &err), &err, "set_host");
    expect_ok(mailport_config_set_port(cfg, (uint32_t)port, &err), &err, "set_port");
    expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_STARTTLS, &err), &err,
              "set_security");
    expect_ok(mailport_config_add_ca_file(cfg, argv[3], &err), &err, "add_ca_file smtp");
    expect_ok(mailport_config_add_ca_file(cfg, argv[5], &err), &err, "add_ca_file oauth");
    expect_ok(mailport_config_set_helo_name(cfg, "client.example.org", &err), &err, "helo");
    return cfg;
}

static mailport_result send_once(mailport_config *cfg, mailport_error **err) {
    mailport_client *client = NULL;
    mailport_receipt *receipt = NULL;
    mailport_result rc = mailport_client_new(cfg, &client, err);
    if (rc != MAILPORT_OK) return rc;
    rc = mailport_client_send_raw(client, USER, TO, 1, (const uint8_t *)TEXT, strlen(TEXT),
                                  &receipt, err);
    mailport_receipt_free(receipt);
    mailport_client_free(client);
    return rc;
}

static void no_secret(const char *text, const char *what) {
    CHECK(!contains(text, SECRET), what);
    CHECK(!contains(text, REFRESH), what);
    CHECK(!contains(text, "rt-c-unknown"), what);
}

int main(int argc, char **argv) {
    mailport_error *err = NULL;
    mailport_config *cfg;
    mailport_result rc;
    struct rotation rotation = {0};
    struct calls calls = {0};
    if (argc != 6) {
        fprintf(stderr, "usage: oauth HOST PORT SMTP_CA TOKEN_URL OAUTH_CA\n");
        return 2;
    }

    /* Misuse: setters of a refresh grant need one; unknown provider and mechanism. */
    cfg = mailport_config_new();
    rc = mailport_config_set_oauth_tenant(cfg, "common", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_STATE, "tenant without a refresh grant");
    CHECK(contains(mailport_error_hint(err), "mailport_config_set_oauth_refresh"),
          "the hint names the setter to call first");
    mailport_error_free(err);
    err = NULL;
    rc = mailport_config_set_oauth_refresh(cfg, USER, 9, "id", NULL, "rt", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "unknown provider");
    mailport_error_free(err);
    err = NULL;
    rc = mailport_config_set_auth_mechanism(cfg, "cram-md5", &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "unknown mechanism");
    mailport_error_free(err);
    err = NULL;
    CHECK(mailport_oauth_token_set(NULL, "t", 0) == MAILPORT_ERR_NULL_ARGUMENT, "NULL out");
    mailport_config_free(cfg);

    /* The refresh grant: sends, and the rotated refresh token reaches the callback. */
    cfg = base_config(argv);
    expect_ok(mailport_config_set_oauth_refresh(cfg, USER, MAILPORT_OAUTH_PROVIDER_GOOGLE,
                                                "mailport-app", SECRET, REFRESH, &err),
              &err, "set_oauth_refresh");
    expect_ok(mailport_config_set_oauth_token_url(cfg, argv[4], &err), &err, "token_url");
    expect_ok(mailport_config_set_oauth_rotation_callback(cfg, on_rotation, &rotation, &err),
              &err, "rotation_callback");
    expect_ok(mailport_config_set_auth_mechanism(cfg, "xoauth2", &err), &err, "mechanism");
    expect_ok(send_once(cfg, &err), &err, "send with the refresh grant");
    CHECK(rotation.count == 1, "the rotated refresh token reached the callback");
    CHECK(strcmp(rotation.user, USER) == 0, "with the user name");
    CHECK(rotation.token[0] != '\0' && strcmp(rotation.token, REFRESH) != 0,
          "a new refresh token");
    printf("ROTATED %d\n", rotation.count);
    mailport_config_free(cfg);

    /* The token callback: asked again, told so, when the server refused its token. */
    cfg = base_config(argv);
    expect_ok(mailport_config_set_oauth_token_callback(cfg, USER, token_callback, &calls, &err),
              &err, "token_callback");
    expect_ok(send_once(cfg, &err), &err, "send with the token callback");
    CHECK(calls.count == 2, "asked twice");
    CHECK(!calls.refused[0] && calls.refused[1], "previous_refused on the second call");
    mailport_config_free(cfg);

    /* A callback without a token. */
    cfg = base_config(argv);
    expect_ok(mailport_config_set_oauth_token_callback(cfg, USER, failing_callback, NULL, &err),
              &err, "failing callback");
    rc = send_once(cfg, &err);
    CHECK(rc == MAILPORT_ERR_OAUTH_CALLBACK, "a failed callback's code");
    CHECK(contains(mailport_error_message(err), "the vault is sealed"), "its reason");
    CHECK(contains(mailport_error_hint(err), "mailport_config_set_oauth_token_callback"),
          "the hint names the C setter");
    mailport_error_free(err);
    err = NULL;
    mailport_config_free(cfg);

    /* A refresh token the endpoint does not know: invalid_grant. */
    cfg = base_config(argv);
    expect_ok(mailport_config_set_oauth_refresh(cfg, USER, MAILPORT_OAUTH_PROVIDER_MICROSOFT,
                                                "mailport-app", SECRET, "rt-c-unknown", &err),
              &err, "set_oauth_refresh unknown");
    expect_ok(mailport_config_set_oauth_tenant(cfg, "contoso.onmicrosoft.com", &err), &err,
              "tenant");
    expect_ok(mailport_config_set_oauth_token_url(cfg, argv[4], &err), &err, "token_url 2");
    rc = send_once(cfg, &err);
    CHECK(rc == MAILPORT_ERR_OAUTH_INVALID_GRANT && rc == 120, "invalid_grant's code");
    CHECK(strcmp(mailport_result_name(rc), "MAILPORT_ERR_OAUTH_INVALID_GRANT") == 0, "its name");
    CHECK(mailport_error_code(err) == MAILPORT_ERR_OAUTH_INVALID_GRANT, "the error's code");
    CHECK(!mailport_error_is_transient(err), "not transient");
    CHECK(contains(mailport_error_hint(err), "consent again"), "the hint says what to do");
    CHECK(contains(mailport_error_hint(err), "mailport_config_set_oauth_refresh"),
          "in C's words");
    no_secret(mailport_error_message(err), "no secret in the message");
    no_secret(mailport_error_hint(err), "no secret in the hint");
    no_secret(mailport_error_transcript(err), "no secret in the transcript");
    mailport_error_free(err);
    err = NULL;
    mailport_config_free(cfg);

    if (failures == 0) printf("OAUTH_OK\n");
    return failures == 0 ? 0 : 1;
}
