/*
 * fork() after using the persistent pool and the TLS session cache, as php-fpm's master does
 * after preloading and as C daemons do per job.
 *
 *   fork HOST PORT CA_PEM
 *
 * The server must offer STARTTLS with a certificate signed by CA_PEM and accept every
 * recipient. The parent sends (to parent-1@) through a persistent client, so its session goes
 * to the pool and its TLS tickets to the cache, then forks. The child sends (to child@) through
 * a persistent client too: it must connect anew (never take the parent's pooled session) and
 * never resume the parent's TLS session, and its drain must QUIT its own session only. Then the
 * parent sends again (to parent-2@) on its pooled session, which must still work, and once more
 * on a new connection (to parent-3@), which must resume TLS (so that the child's full handshake
 * proves something). Finally the parent drains its pool. Prints "FORK_OK" and exits 0 on
 * success; every failed check is printed and makes it exit 1 (the child's checks too).
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *host;
static const char *port;
static const char *ca;

/* Send one message to `rcpt` with a new client; store its transcript and whether TLS was
 * resumed. Returns whether it was sent. */
static bool send_one(const char *rcpt, bool persistent, char **transcript_out, bool *resumed) {
    char url[256];
    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    mailport_receipt *receipt = NULL;
    mailport_error *err = NULL;
    mailport_result rc;
    static const char text[] = "Subject: fork\r\n\r\nbody\r\n";
    const char *to[1];

    to[0] = rcpt;
    *transcript_out = NULL;
    *resumed = false;
    snprintf(url, sizeof url, "smtp+starttls://%s:%s", host, port);
    expect_ok(mailport_config_from_url(url, &cfg, &err), &err, "config_from_url");
    if (cfg == NULL) return false;
    expect_ok(mailport_config_add_ca_file(cfg, ca, &err), &err, "add_ca_file");
    expect_ok(mailport_config_set_persistent(cfg, persistent, 60000, &err), &err,
              "set_persistent");
    expect_ok(mailport_client_new(cfg, &client, &err), &err, "client_new");
    mailport_config_free(cfg);
    if (client == NULL) return false;
    rc = mailport_client_send_raw(client, "sender@example.org", to, 1, (const uint8_t *)text,
                                  strlen(text), &receipt, &err);
    expect_ok(rc, &err, rcpt);
    if (receipt != NULL) *resumed = mailport_receipt_tls_resumed(receipt);
    *transcript_out = mailport_client_transcript_copy(client);
    mailport_receipt_free(receipt);
    mailport_client_free(client); /* persistent: the session goes to the pool */
    return rc == MAILPORT_OK;
}

static int child(void) {
    char *transcript;
    bool resumed;
    size_t closed = 99;
    mailport_error *err = NULL;

    CHECK(send_one("child@example.org", true, &transcript, &resumed), "the child sends");
    CHECK(!contains(transcript, "reusing a pooled connection"),
          "the child does not take the parent's pooled session");
    CHECK(contains(transcript, "connected to"), "the child makes its own connection");
    CHECK(!resumed, "the child does not resume the parent's TLS session");
    mailport_string_free(transcript);
    expect_ok(mailport_pool_drain(5000, &closed, &err), &err, "child: pool_drain");
    CHECK(closed == 1, "the child's drain closes its own session, not the inherited one");
    return failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    char *transcript;
    bool resumed;
    pid_t pid;
    int status = 0;
    size_t closed = 99;
    mailport_error *err = NULL;

    if (argc != 4) {
        fprintf(stderr, "usage: fork HOST PORT CA_PEM\n");
        return 2;
    }
    host = argv[1];
    port = argv[2];
    ca = argv[3];

    CHECK(send_one("parent-1@example.org", true, &transcript, &resumed), "the parent sends");
    mailport_string_free(transcript);

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        /* exit(), not _exit(): under valgrind the child's leak check runs too. */
        exit(child());
    }
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's checks passed");

    CHECK(send_one("parent-2@example.org", true, &transcript, &resumed),
          "the parent sends again after the fork");
    CHECK(contains(transcript, "reusing a pooled connection"),
          "the parent's pooled session survived the child");
    mailport_string_free(transcript);

    CHECK(send_one("parent-3@example.org", false, &transcript, &resumed),
          "the parent sends on a new connection");
    CHECK(resumed, "the parent resumes TLS from its own cache");
    mailport_string_free(transcript);

    expect_ok(mailport_pool_drain(5000, &closed, &err), &err, "parent: pool_drain");
    CHECK(closed == 1, "the parent's drain QUITs its pooled session");
    expect_ok(mailport_pool_drain(0, NULL, NULL), &err, "pool_drain with NULL out-parameters");

    if (failures == 0) printf("FORK_OK\n");
    return failures == 0 ? 0 : 1;
}
