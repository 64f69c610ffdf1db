/*
 * Thread stress and memory growth of the C API (run by tests/c_stress.rs, and under
 * AddressSanitizer and ThreadSanitizer by .ci/sanitize.sh).
 *
 *   stress threads PORT CA_FILE THREADS PER_THREAD
 *   stress rss PORT CA_FILE TOTAL EVERY
 *
 * CA_FILE "-" means plaintext (MAILPORT_SECURITY_NONE); otherwise STARTTLS, trusting CA_FILE.
 *
 * threads: THREADS threads send PER_THREAD messages each, twice. First each thread with its own
 * client (one connection per thread, kept for all its messages); then every message through a
 * new client made from one persistent config shared by all threads (mailport_client_new reads
 * it concurrently, as its documentation allows), so every send takes a session from the
 * process-wide pool and gives it back while fifteen other threads do the same. Every message has
 * its own Message-ID, <stress-own-T-I@stress.example> and <stress-pool-T-I@stress.example>, and
 * each receipt must carry it. Prints "SENT <n>" and "ERRORS <n>".
 *
 * rss: TOTAL messages through the persistent pool in one thread (a client per message, as a
 * php-fpm worker makes one per request), printing "RSS <messages sent> <resident bytes>" from
 * /proc/self/statm before the first and after every EVERY messages; the test judges growth.
 *
 * Every object is freed, so valgrind or LeakSanitizer can see a leak in any path taken here.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned server_port;
static const char *ca_file;
static unsigned per_thread;
static unsigned long sent_total;
static unsigned long errors_total;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

static mailport_config *make_config(int persistent) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    expect_ok(mailport_config_set_host(cfg, "127.0.0.1", &err), &err, "host");
    expect_ok(mailport_config_set_port(cfg, server_port, &err), &err, "port");
    if (strcmp(ca_file, "-") == 0) {
        expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_NONE, &err), &err,
                  "security");
    } else {
        expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_STARTTLS, &err), &err,
                  "security");
        expect_ok(mailport_config_add_ca_file(cfg, ca_file, &err), &err, "CA file");
        expect_ok(mailport_config_set_webpki_roots(cfg, false, &err), &err, "webpki");
        expect_ok(mailport_config_set_system_roots(cfg, false, &err), &err, "system roots");
    }
    expect_ok(mailport_config_set_helo_name(cfg, "stress.example", &err), &err, "helo");
    /* Generous: under sanitizers and valgrind a send is many times slower, and sixteen threads
     * share two CPUs with the server. A timeout here is a failure, never a retry. */
    expect_ok(mailport_config_set_command_timeout_ms(cfg, 120000, &err), &err, "timeout");
    if (persistent)
        expect_ok(mailport_config_set_persistent(cfg, true, 60000, &err), &err, "persistent");
    return cfg;
}

/* Send one message with Message-ID <stress-KIND-T-I@stress.example>; 1 on success. */
static int send_one(mailport_client *client, const char *kind, unsigned thread, unsigned i) {
    char id[96], to[64], subject[64];
    snprintf(id, sizeof id, "<stress-%s-%u-%u@stress.example>", kind, thread, i);
    snprintf(to, sizeof to, "t%u@stress.example", thread);
    snprintf(subject, sizeof subject, "stress %s %u/%u", kind, thread, i);
    mailport_message *msg = mailport_message_new();
    mailport_error *err = NULL;
    mailport_receipt *receipt = NULL;
    int ok = mailport_message_set_from(msg, "stress@stress.example", &err) == MAILPORT_OK &&
             mailport_message_add_to(msg, to, &err) == MAILPORT_OK &&
             mailport_message_set_subject(msg, subject, &err) == MAILPORT_OK &&
             mailport_message_set_message_id(msg, id, &err) == MAILPORT_OK &&
             mailport_message_set_text(msg, "A message from the stress test.\n", &err) ==
                 MAILPORT_OK &&
             mailport_client_send(client, msg, &receipt, &err) == MAILPORT_OK;
    if (!ok) {
        fprintf(stderr, "FAIL %s: %s: %s\n", id, mailport_result_name(mailport_error_code(err)),
                mailport_error_message(err));
    } else if (strcmp(mailport_receipt_message_id(receipt), id) != 0) {
        fprintf(stderr, "FAIL %s: the receipt says %s\n", id, mailport_receipt_message_id(receipt));
        ok = 0;
    }
    mailport_error_free(err);
    mailport_receipt_free(receipt);
    mailport_message_free(msg);
    return ok;
}

static void count(unsigned long sent, unsigned long errors) {
    pthread_mutex_lock(&totals_lock);
    sent_total += sent;
    errors_total += errors;
    pthread_mutex_unlock(&totals_lock);
}

struct worker {
    pthread_t thread;
    unsigned index;
    const mailport_config *pooled; /* shared by every thread in the pool phase */
};

static void *own_client(void *arg) {
    struct worker *w = arg;
    mailport_config *cfg = make_config(0);
    mailport_client *client = NULL;
    mailport_error *err = NULL;
    unsigned long sent = 0, errors = 0;
    if (mailport_client_new(cfg, &client, &err) != MAILPORT_OK) {
        fprintf(stderr, "FAIL thread %u: client: %s\n", w->index, mailport_error_message(err));
        errors = per_thread;
    } else {
        for (unsigned i = 0; i < per_thread; i++) {
            if (send_one(client, "own", w->index, i)) sent++;
            else errors++;
        }
        expect_ok(mailport_client_close(client, &err), &err, "close");
    }
    mailport_error_free(err);
    mailport_client_free(client);
    mailport_config_free(cfg);
    count(sent, errors);
    return NULL;
}

/* A client per message from the shared persistent config: each one takes a pooled session. */
static int pooled_send(const mailport_config *cfg, unsigned thread, unsigned i) {
    mailport_client *client = NULL;
    mailport_error *err = NULL;
    int ok = 0;
    if (mailport_client_new(cfg, &client, &err) != MAILPORT_OK)
        fprintf(stderr, "FAIL pooled client: %s\n", mailport_error_message(err));
    else
        ok = send_one(client, "pool", thread, i);
    mailport_error_free(err);
    mailport_client_free(client);
    return ok;
}

static void *through_pool(void *arg) {
    struct worker *w = arg;
    unsigned long sent = 0, errors = 0;
    for (unsigned i = 0; i < per_thread; i++) {
        if (pooled_send(w->pooled, w->index, i)) sent++;
        else errors++;
    }
    count(sent, errors);
    return NULL;
}

static int run_threads(unsigned threads) {
    struct worker *workers = calloc(threads, sizeof *workers);
    mailport_config *pooled = make_config(1);
    void *(*phases[2])(void *) = {own_client, through_pool};
    for (int phase = 0; phase < 2; phase++) {
        for (unsigned t = 0; t < threads; t++) {
            workers[t].index = t;
            workers[t].pooled = pooled;
            if (pthread_create(&workers[t].thread, NULL, phases[phase], &workers[t]) != 0) {
                fprintf(stderr, "cannot start thread %u\n", t);
                exit(2);
            }
        }
        for (unsigned t = 0; t < threads; t++) pthread_join(workers[t].thread, NULL);
    }
    mailport_config_free(pooled);
    free(workers);
    printf("SENT %lu\nERRORS %lu\n", sent_total, errors_total);
    return errors_total == 0 && failures == 0 ? 0 : 1;
}

static unsigned long resident_bytes(void) {
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2) {
        fprintf(stderr, "cannot read /proc/self/statm\n");
        exit(2);
    }
    fclose(f);
    return resident * (unsigned long)sysconf(_SC_PAGESIZE);
}

static int run_rss(unsigned long total, unsigned long every) {
    mailport_config *cfg = make_config(1);
    unsigned long errors = 0;
    printf("RSS 0 %lu\n", resident_bytes());
    for (unsigned long i = 0; i < total; i++) {
        if (!pooled_send(cfg, 0, (unsigned)i)) errors++;
        if ((i + 1) % every == 0) {
            printf("RSS %lu %lu\n", i + 1, resident_bytes());
            fflush(stdout);
        }
    }
    mailport_config_free(cfg);
    printf("SENT %lu\nERRORS %lu\n", total - errors, errors);
    return errors == 0 && failures == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 6 || (strcmp(argv[1], "threads") != 0 && strcmp(argv[1], "rss") != 0)) {
        fprintf(stderr,
                "usage: %s threads PORT CA_FILE|- THREADS PER_THREAD\n"
                "       %s rss PORT CA_FILE|- TOTAL EVERY\n",
                argv[0], argv[0]);
        return 2;
    }
    server_port = (unsigned)strtoul(argv[2], NULL, 10);
    ca_file = argv[3];
    unsigned long a = strtoul(argv[4], NULL, 10), b = strtoul(argv[5], NULL, 10);
    if (a == 0 || b == 0) {
        fprintf(stderr, "%s and %s must be positive numbers\n", argv[4], argv[5]);
        return 2;
    }
    if (strcmp(argv[1], "threads") == 0) {
        per_thread = (unsigned)b;
        return run_threads((unsigned)a);
    }
    return run_rss(a, b);
}
