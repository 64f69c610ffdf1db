/*
 * A C host that has not ignored SIGPIPE survives a server that closes the connection while
 * mailport is writing a message to it.
 *
 *   sigpipe HOST PORT MODE [CA_PEM]
 *
 * MODE is "plain" (no TLS) or "tls" (implicit TLS; CA_PEM is the CA to trust). The server side
 * (a cutting proxy in tests/c_abi.rs) closes the connection after the first few hundred KiB of
 * a 16 MiB message. SIGPIPE is set to its default action (death) and unblocked first, as in a
 * process that never touched it. The send must fail with MAILPORT_ERR_CONNECTION_CLOSED or
 * MAILPORT_ERR_IO; the program then prints "SURVIVED <result name>" and exits 0. Dying of
 * SIGPIPE is the failure this test exists to catch.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_SIZE (16u * 1024u * 1024u)

static char *big_message(void) {
    static const char head[] = "Subject: a big message\r\n\r\n";
    static const char line[] = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    size_t used = strlen(head);
    char *text = malloc(MESSAGE_SIZE + 1);
    if (text == NULL) return NULL;
    memcpy(text, head, used);
    while (used + sizeof line <= MESSAGE_SIZE) {
        memcpy(text + used, line, sizeof line - 1);
        used += sizeof line - 1;
    }
    text[used] = '\0';
    return text;
}

int main(int argc, char **argv) {
    const char *host;
    const char *port;
    const char *mode;
    char url[256];
    char *text;
    sigset_t pipe_only;
    struct sigaction dfl;
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    mailport_receipt *receipt = NULL;
    mailport_error *err = NULL;
    mailport_result rc;
    static const char *const to[1] = {"rcpt@example.org"};

    if (argc < 4 || (strcmp(argv[3], "tls") == 0 && argc != 5)) {
        fprintf(stderr, "usage: sigpipe HOST PORT plain|tls [CA_PEM]\n");
        return 2;
    }
    host = argv[1];
    port = argv[2];
    mode = argv[3];

    /* The disposition of a host that never asked: SIGPIPE kills, and it is not blocked. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    CHECK(sigaction(SIGPIPE, &dfl, NULL) == 0, "set SIGPIPE to its default action");
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &pipe_only, NULL) == 0, "unblock SIGPIPE");

    if (strcmp(mode, "tls") == 0) {
        snprintf(url, sizeof url, "smtps://%s:%s", host, port);
    } else {
        snprintf(url, sizeof url, "smtp://%s:%s", host, port);
    }
    expect_ok(mailport_config_from_url(url, &cfg, &err), &err, "config_from_url");
    if (cfg == NULL) return 1;
    if (strcmp(mode, "tls") == 0) {
        expect_ok(mailport_config_add_ca_file(cfg, argv[4], &err), &err, "add_ca_file");
    } else {
        expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_NONE, &err), &err,
                  "set_security NONE");
    }
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new");
    mailport_config_free(cfg);
    if (client == NULL) return 1;

    text = big_message();
    if (text == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    rc = mailport_client_send_raw(client, "sender@example.org", to, 1, (const uint8_t *)text,
                                  strlen(text), &receipt, &err);
    CHECK(rc == MAILPORT_ERR_CONNECTION_CLOSED || rc == MAILPORT_ERR_IO,
          "a server that closes mid-DATA is a connection error");
    CHECK(receipt == NULL, "no receipt for a message the server never took");
    if (rc != MAILPORT_OK) {
        printf("SURVIVED %s: %s\n", mailport_result_name(rc), mailport_error_message(err));
    }
    mailport_error_free(err);
    err = NULL;

    /* Closing after the failure writes nothing more that could raise SIGPIPE either. */
    CHECK(mailport_client_close(client, &err) == MAILPORT_OK, "close after the failure");
    mailport_error_free(err);
    mailport_receipt_free(receipt);
    mailport_client_free(client);
    free(text);
    return failures == 0 ? 0 : 1;
}
