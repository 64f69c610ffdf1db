/*
 * What a newcomer meets in the first hour, from C: an unset password variable, a private CA
 * that is not trusted yet, and STARTTLS pointed at an implicit-TLS port. Each error must say
 * what is wrong in C's words (run under valgrind by tests/c_abi.rs).
 *
 *   first_hour HOST PORT
 *
 * PORT speaks implicit TLS with a certificate from a CA that is not given here. The program
 * prints "FIRST_HOUR_OK" and exits 0; every failed check is printed and makes it exit 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <stdio.h>
#include <stdlib.h>

static const char MESSAGE[] = "Subject: first hour\r\n\r\nHello.\r\n";

/* Send one message with `cfg`; the result, and the error in *err. */
static mailport_result send_with(const mailport_config *cfg, mailport_error **err) {
    const char *to[] = {"rcpt@example.net"};
    mailport_client *client = NULL;
    mailport_result rc = mailport_client_new(cfg, &client, err);
    if (rc != MAILPORT_OK) return rc;
    rc = mailport_client_send_raw(client, "sender@example.org", to, 1, (const uint8_t *)MESSAGE,
                                  sizeof MESSAGE - 1, NULL, err);
    mailport_client_free(client);
    return rc;
}

static mailport_config *config_for(const char *host, unsigned port, uint32_t security) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    expect_ok(mailport_config_set_host(cfg, host, &err), &err, "set_host");
    expect_ok(mailport_config_set_port(cfg, port, &err), &err, "set_port");
    expect_ok(mailport_config_set_security(cfg, security, &err), &err, "set_security");
    expect_ok(mailport_config_set_helo_name(cfg, "client.example.org", &err), &err, "helo");
    return cfg;
}

int main(int argc, char **argv) {
    mailport_error *err = NULL;
    mailport_config *cfg;
    mailport_result rc;
    unsigned port;
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    port = (unsigned)atoi(argv[2]);

    /* 1. The password comes from a variable that is not set: getenv() gives NULL. */
    cfg = mailport_config_new();
    rc = mailport_config_set_credentials(cfg, "me@example.org",
                                         getenv("MAILPORT_TEST_VARIABLE_THAT_IS_NOT_SET"), &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "a NULL password is refused");
    CHECK(contains(mailport_error_message(err), "the password is missing"),
          "the message says the password is missing");
    CHECK(contains(mailport_error_message(err), "environment variable"),
          "the message points at the environment variable");
    CHECK(!contains(mailport_error_message(err), "must not be NULL"), "not a bad-pointer text");
    printf("unset password: %s\n  hint: %s\n", mailport_error_message(err),
           mailport_error_hint(err));
    mailport_error_free(err);
    err = NULL;
    mailport_config_free(cfg);

    /* 2. A certificate from a CA this machine does not trust: the hint names the C function. */
    cfg = config_for(argv[1], port, MAILPORT_SECURITY_TLS);
    rc = send_with(cfg, &err);
    CHECK(rc == MAILPORT_ERR_CERT_UNTRUSTED, "an unknown CA is untrusted");
    CHECK(contains(mailport_error_hint(err), "mailport_config_add_ca_file"),
          "the hint names mailport_config_add_ca_file");
    CHECK(!contains(mailport_error_hint(err), "ca_file=") &&
              !contains(mailport_error_message(err), "ca_file"),
          "no Python name");
    printf("untrusted: %s\n  hint: %s\n", mailport_error_message(err), mailport_error_hint(err));
    mailport_error_free(err);
    err = NULL;
    mailport_config_free(cfg);

    /* 3. STARTTLS against the implicit-TLS port, with a command timeout of ten minutes: the
     * greeting wait, not the timeout, ends it. */
    cfg = config_for(argv[1], port, MAILPORT_SECURITY_STARTTLS);
    expect_ok(mailport_config_set_command_timeout_ms(cfg, 600000, &err), &err, "timeout");
    expect_ok(mailport_config_set_send_timeout_ms(cfg, 600000, &err), &err, "timeout");
    rc = send_with(cfg, &err);
    CHECK(rc == MAILPORT_ERR_TLS_ON_PLAINTEXT_PORT, "STARTTLS on an implicit-TLS port");
    CHECK(contains(mailport_error_message(err), "implicit TLS"), "the message says why");
    CHECK(contains(mailport_error_hint(err),
                   "mailport_config_set_security(cfg, MAILPORT_SECURITY_TLS)"),
          "the hint names the C call");
    printf("starttls on implicit TLS: %s\n  hint: %s\n", mailport_error_message(err),
           mailport_error_hint(err));
    mailport_error_free(err);
    mailport_config_free(cfg);

    if (failures == 0) printf("FIRST_HOUR_OK\n");
    return failures == 0 ? 0 : 1;
}
