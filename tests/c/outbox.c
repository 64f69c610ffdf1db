/*
 * The outbox from C: enqueue a built message and a raw one, deliver them over a primary
 * connection that is down and a backup that works, read the records, hear every event through
 * the callback (and find them again in the run's summary), retry and cancel the deferred entry,
 * and check that misuse is a clear error. Every object is freed (run under valgrind by
 * tests/c_abi.rs).
 *
 *   outbox SPOOL_DIR HOST PORT REFUSED_PORT
 *
 * The server at HOST:PORT speaks plain SMTP, says "queued as <id>" and answers 450 to recipients
 * containing "busy"; nothing listens on REFUSED_PORT. On success the program prints
 * "MESSAGES_SENT 1", "QUEUE_ID <id>" and "EVENTS <state changes> <connection events>" and exits
 * 0; every failed check is printed and makes it exit 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATE_NAMES[] = {"none",   "queued", "sending", "sent",
                                          "deferred", "failed", "held",    "cancelled"};

static const char *state_name(uint32_t state) {
    return state < sizeof STATE_NAMES / sizeof STATE_NAMES[0] ? STATE_NAMES[state] : "?";
}

/* ---- the event callback: counts what it hears, checks the contract ---- */

struct heard {
    unsigned state_changes, failing, recovered, other;
    unsigned enqueued, sent, deferred, retried, cancelled;
    char failing_server[64];
};

static void on_event(void *userdata, uint32_t kind, const char *id, uint32_t from_state,
                     uint32_t to_state, size_t connection, const char *server, const char *text) {
    struct heard *heard = userdata;
    CHECK(id != NULL && server != NULL && text != NULL, "event strings are never NULL");
    if (id == NULL || server == NULL || text == NULL) return;
    switch (kind) {
    case MAILPORT_OUTBOX_EVENT_STATE_CHANGED:
        heard->state_changes++;
        CHECK(strlen(id) == MAILPORT_OUTBOX_ID_SIZE - 1, "a state change names its entry");
        CHECK(connection == 0 && server[0] == '\0', "a state change names no connection");
        printf("event: %s %s -> %s (%s)\n", id, state_name(from_state), state_name(to_state),
               text);
        if (from_state == MAILPORT_OUTBOX_STATE_NONE && to_state == MAILPORT_OUTBOX_STATE_QUEUED)
            heard->enqueued++;
        else if (to_state == MAILPORT_OUTBOX_STATE_SENT)
            heard->sent++;
        else if (to_state == MAILPORT_OUTBOX_STATE_DEFERRED) {
            heard->deferred++;
            CHECK(contains(text, "450"), "a deferral says why");
        } else if (from_state == MAILPORT_OUTBOX_STATE_DEFERRED
                   && to_state == MAILPORT_OUTBOX_STATE_QUEUED)
            heard->retried++;
        else if (to_state == MAILPORT_OUTBOX_STATE_CANCELLED)
            heard->cancelled++;
        break;
    case MAILPORT_OUTBOX_EVENT_CONNECTION_FAILING:
        heard->failing++;
        CHECK(id[0] == '\0', "a connection event names no entry");
        CHECK(from_state == MAILPORT_OUTBOX_STATE_NONE && to_state == MAILPORT_OUTBOX_STATE_NONE,
              "a connection event has no states");
        CHECK(connection == 0, "the primary is the one failing");
        CHECK(contains(text, "refused"), "the failing connection says why");
        snprintf(heard->failing_server, sizeof heard->failing_server, "%s", server);
        printf("event: connection %zu (%s) failing: %s\n", connection, server, text);
        break;
    case MAILPORT_OUTBOX_EVENT_CONNECTION_RECOVERED: heard->recovered++; break;
    default: heard->other++; break;
    }
}

static mailport_config *plain_config(const char *host, unsigned port) {
    mailport_config *cfg = mailport_config_new();
    mailport_error *err = NULL;
    expect_ok(mailport_config_set_host(cfg, host, &err), &err, "set_host");
    expect_ok(mailport_config_set_port(cfg, port, &err), &err, "set_port");
    expect_ok(mailport_config_set_security(cfg, MAILPORT_SECURITY_NONE, &err), &err,
              "set_security");
    expect_ok(mailport_config_set_connect_timeout_ms(cfg, 5000, &err), &err, "connect timeout");
    return cfg;
}

/* Misuse is an error of the call that names the argument, and leaves every out-parameter
 * NULL. */
static void check_misuse(mailport_outbox *outbox, const char *spool) {
    mailport_error *err = NULL;
    mailport_outbox *opened = (mailport_outbox *)&err; /* not NULL: must be cleared */
    mailport_outbox_record *record = (mailport_outbox_record *)&err;
    mailport_outbox_records *records = (mailport_outbox_records *)&err;
    const mailport_config *none[1] = {NULL};
    char id[MAILPORT_OUTBOX_ID_SIZE];
    size_t n = 0;
    mailport_message *msg = mailport_message_new();
    mailport_result rc;

    rc = mailport_outbox_open(NULL, NULL, 0, &opened, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "open(NULL location)");
    CHECK(opened == NULL, "outbox_out is NULLed");
    CHECK(contains(mailport_error_message(err), "location"), "the error names location");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_outbox_open(spool, none, 1, &opened, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "open(connections[0] NULL)");
    CHECK(contains(mailport_error_message(err), "connections[0]"), "names connections[0]");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_outbox_enqueue(NULL, msg, id, sizeof id, NULL, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "enqueue(NULL outbox)");
    CHECK(contains(mailport_error_message(err), "outbox"), "names outbox");
    mailport_error_free(err);
    err = NULL;

    /* The sizing call enqueues nothing and gives the id's length. */
    rc = mailport_outbox_enqueue(outbox, msg, NULL, 0, &n, &err);
    CHECK(rc == MAILPORT_ERR_BUFFER_TOO_SMALL, "enqueue with no id buffer");
    CHECK(n == MAILPORT_OUTBOX_ID_SIZE - 1, "the id's length");
    mailport_error_free(err);
    err = NULL;

    /* An unsendable message (no From) is refused before anything is stored. */
    rc = mailport_outbox_enqueue(outbox, msg, id, sizeof id, NULL, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "enqueue a message without From");
    CHECK(contains(mailport_error_message(err), "From"), "says what is missing");
    CHECK(!mailport_error_outcome_unknown(err), "nothing ambiguous about it");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_outbox_get(outbox, "../../etc/passwd", &record, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "get(a path)");
    CHECK(record == NULL, "record_out is NULLed");
    CHECK(contains(mailport_error_message(err), "not an outbox entry id"), "says why");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_outbox_get(outbox, "1764979200000-0123456789abcdef", &record, &err);
    CHECK(rc == MAILPORT_ERR_INVALID_ARGUMENT, "get(an unknown id)");
    CHECK(contains(mailport_error_message(err), "no entry"), "says there is none");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_outbox_list(outbox, NULL, 2, 0, &records, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "list(NULL states, 2)");
    CHECK(records == NULL, "records_out is NULLed");
    mailport_error_free(err);
    err = NULL;

    rc = mailport_outbox_cancel(outbox, NULL, NULL, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "cancel(NULL id)");
    CHECK(contains(mailport_error_message(err), "id must not be NULL"), "names id");
    mailport_error_free(err);

    /* Without error_out, the code alone. */
    CHECK(mailport_outbox_retry(outbox, NULL, NULL, NULL) == MAILPORT_ERR_NULL_ARGUMENT,
          "retry(NULL id) without error_out");
    CHECK(mailport_outbox_run(NULL, 0, 0, NULL, NULL) == MAILPORT_ERR_NULL_ARGUMENT,
          "run(NULL outbox)");

    /* Accessors and frees take NULL. */
    CHECK(mailport_outbox_record_state(NULL) == MAILPORT_OUTBOX_STATE_NONE, "state of NULL");
    CHECK(strcmp(mailport_outbox_record_id(NULL), "") == 0, "id of NULL");
    CHECK(mailport_outbox_record_delivered_by(NULL) == -1, "delivered_by of NULL");
    CHECK(mailport_outbox_records_record(NULL, 0) == NULL, "record of a NULL list");
    mailport_outbox_record_free(NULL);
    mailport_outbox_records_free(NULL);
    mailport_outbox_summary_free(NULL);
    mailport_outbox_free(NULL);
    mailport_message_free(msg);
}

int main(int argc, char **argv) {
    mailport_config *configs[2];
    mailport_outbox *outbox = NULL;
    mailport_message *msg = mailport_message_new();
    mailport_outbox_summary *summary = NULL;
    mailport_outbox_record *record = NULL;
    mailport_outbox_records *records = NULL;
    mailport_error *err = NULL;
    struct heard heard;
    char sent_id[MAILPORT_OUTBOX_ID_SIZE] = "";
    char busy_id[MAILPORT_OUTBOX_ID_SIZE] = "";
    static const char *const BUSY[1] = {"busy@example.org"};
    static const char RAW[] = "From: shop@example.com\r\nSubject: later\r\n\r\nlater\r\n";
    uint32_t finished[2] = {MAILPORT_OUTBOX_STATE_SENT, MAILPORT_OUTBOX_STATE_CANCELLED};
    size_t i, n = 0, removed = 99;
    int sent = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: outbox SPOOL_DIR HOST PORT REFUSED_PORT\n");
        return 2;
    }
    memset(&heard, 0, sizeof heard);
    configs[0] = plain_config(argv[2], (unsigned)atoi(argv[4])); /* primary: down */
    configs[1] = plain_config(argv[2], (unsigned)atoi(argv[3])); /* backup: works */
    expect_ok(mailport_outbox_open(argv[1], (const mailport_config *const *)configs, 2, &outbox,
                                   &err),
              &err, "outbox_open");
    /* The configs were copied. */
    mailport_config_free(configs[0]);
    mailport_config_free(configs[1]);
    if (outbox == NULL) return 1;
    expect_ok(mailport_outbox_set_min_backoff_ms(outbox, 0, &err), &err, "min backoff");
    expect_ok(mailport_outbox_set_max_backoff_ms(outbox, 0, &err), &err, "max backoff");
    expect_ok(mailport_outbox_set_lifetime_ms(outbox, 86400000, &err), &err, "lifetime");
    expect_ok(mailport_outbox_set_keep_transcripts(outbox, true, &err), &err, "transcripts");
    expect_ok(mailport_outbox_set_retry_unknown(outbox, true, &err), &err, "retry unknown");
    expect_ok(mailport_outbox_set_keep_sent(outbox, false, &err), &err, "keep sent");
    expect_ok(mailport_outbox_set_event_callback(outbox, on_event, &heard, &err), &err,
              "event callback");

    check_misuse(outbox, argv[1]);

    /* Enqueue a built message and a raw one; each is durable when the call returns. */
    expect_ok(mailport_message_set_from(msg, "Shop <shop@example.com>", &err), &err, "from");
    expect_ok(mailport_message_add_to(msg, "ann@example.org", &err), &err, "to");
    expect_ok(mailport_message_set_subject(msg, "order 1", &err), &err, "subject");
    expect_ok(mailport_message_set_text(msg, "Thank you for your order.", &err), &err, "text");
    expect_ok(mailport_outbox_enqueue(outbox, msg, sent_id, sizeof sent_id, &n, &err), &err,
              "enqueue");
    mailport_message_free(msg); /* the outbox holds its own rendering */
    CHECK(n == strlen(sent_id) && n == MAILPORT_OUTBOX_ID_SIZE - 1, "the id and its length");
    expect_ok(mailport_outbox_enqueue_raw(outbox, "shop@example.com", BUSY, 1, RAW,
                                          sizeof RAW - 1, busy_id, sizeof busy_id, NULL, &err),
              &err, "enqueue_raw");
    CHECK(strcmp(sent_id, busy_id) < 0, "ids sort in enqueue order");

    /* Deliver: the primary is refused, the backup takes the order and defers busy@. */
    expect_ok(mailport_outbox_run(outbox, 0, 60000, &summary, &err), &err, "run");
    CHECK(mailport_outbox_summary_sent(summary) == 1, "one sent");
    CHECK(mailport_outbox_summary_deferred(summary) == 1, "one deferred");
    CHECK(mailport_outbox_summary_failed(summary) == 0, "none failed");
    CHECK(mailport_outbox_summary_held(summary) == 0, "none held");
    CHECK(mailport_outbox_summary_via_backup(summary) >= 1, "through the backup");
    CHECK(contains(mailport_outbox_summary_json(summary), "\"connection_failing\""),
          "the summary has the connection event");
    CHECK(contains(mailport_outbox_summary_json(summary), "\"to\":\"deferred\""),
          "the summary has the deferral");
    printf("SUMMARY %s\n", mailport_outbox_summary_json(summary));
    sent += (int)mailport_outbox_summary_sent(summary);
    mailport_outbox_summary_free(summary);
    CHECK(heard.failing == 1, "one alert for the primary, not one per message");
    CHECK(strlen(heard.failing_server) > 0, "the alert names the server");

    /* The record of the delivered entry. */
    expect_ok(mailport_outbox_get(outbox, sent_id, &record, &err), &err, "get sent");
    if (record != NULL) {
        size_t attempts = mailport_outbox_record_attempt_count(record);
        CHECK(strcmp(mailport_outbox_record_id(record), sent_id) == 0, "record id");
        CHECK(mailport_outbox_record_state(record) == MAILPORT_OUTBOX_STATE_SENT, "sent");
        CHECK(mailport_outbox_record_delivered_by(record) == 1, "delivered by the backup");
        CHECK(!mailport_outbox_record_maybe_delivered(record), "no doubt about it");
        CHECK(mailport_outbox_record_message_id(record)[0] == '<', "a Message-ID");
        CHECK(strcmp(mailport_outbox_record_envelope_from(record), "shop@example.com") == 0,
              "envelope sender");
        CHECK(mailport_outbox_record_size(record) > 0, "size");
        CHECK(mailport_outbox_record_created(record) > 1700000000, "created (Unix seconds)");
        CHECK(mailport_outbox_record_recipient_count(record) == 1, "one recipient");
        CHECK(strcmp(mailport_outbox_record_recipient_address(record, 0), "ann@example.org") == 0,
              "recipient address");
        CHECK(strcmp(mailport_outbox_record_recipient_state(record, 0), "sent") == 0,
              "recipient sent");
        CHECK(contains(mailport_outbox_record_recipient_reply(record, 0), "250"),
              "recipient reply");
        CHECK(attempts == 2, "an attempt per connection");
        if (attempts == 2) {
            CHECK(mailport_outbox_record_attempt_connection(record, 0) == 0, "primary first");
            CHECK(strcmp(mailport_outbox_record_attempt_outcome(record, 0), "transient") == 0,
                  "primary: transient");
            CHECK(strcmp(mailport_outbox_record_attempt_kind(record, 0), "connect_refused") == 0,
                  "primary: connect_refused");
            CHECK(mailport_outbox_record_attempt_reply_code(record, 0) == 0, "no reply");
            CHECK(mailport_outbox_record_attempt_connection(record, 1) == 1, "then the backup");
            CHECK(strcmp(mailport_outbox_record_attempt_outcome(record, 1), "sent") == 0,
                  "backup: sent");
            CHECK(strcmp(mailport_outbox_record_attempt_kind(record, 1), "") == 0, "no error");
            CHECK(mailport_outbox_record_attempt_reply_code(record, 1) == 250, "250");
            CHECK(mailport_outbox_record_attempt_at(record, 1) >= mailport_outbox_record_created(record),
                  "attempt time");
            CHECK(contains(mailport_outbox_record_attempt_server(record, 1), argv[3]),
                  "the backup's host:port");
            CHECK(mailport_outbox_record_attempt_queue_id(record, 1)[0] != '\0', "queue id");
            CHECK(contains(mailport_outbox_record_attempt_transcript(record, 1), "RCPT TO"),
                  "the transcript was kept");
            CHECK(mailport_outbox_record_attempt_enhanced_status(record, 1) != NULL, "status");
            CHECK(mailport_outbox_record_attempt_message(record, 1) != NULL, "message");
            printf("QUEUE_ID %s\n", mailport_outbox_record_attempt_queue_id(record, 1));
        }
        CHECK(mailport_outbox_record_attempt_outcome(record, attempts) == NULL, "out of range");
        CHECK(contains(mailport_outbox_record_json(record), "\"state\":\"sent\""), "JSON");
        mailport_outbox_record_free(record);
        record = NULL;
    }

    /* The deferred entry: retried, then cancelled. */
    expect_ok(mailport_outbox_get(outbox, busy_id, &record, &err), &err, "get deferred");
    CHECK(mailport_outbox_record_state(record) == MAILPORT_OUTBOX_STATE_DEFERRED, "deferred");
    CHECK(mailport_outbox_record_retries(record) == 1, "deferred once");
    CHECK(contains(mailport_outbox_record_reason(record), "450"), "the reason");
    CHECK(contains(mailport_outbox_record_recipient_reply(record, 0), "450"),
          "the recipient's reply");
    CHECK(strcmp(mailport_outbox_record_recipient_state(record, 0), "pending") == 0,
          "still pending");
    CHECK(strcmp(mailport_outbox_record_message_id(record), "") == 0, "raw: no Message-ID");
    mailport_outbox_record_free(record);
    record = NULL;
    expect_ok(mailport_outbox_retry(outbox, busy_id, &record, &err), &err, "retry");
    CHECK(mailport_outbox_record_state(record) == MAILPORT_OUTBOX_STATE_QUEUED, "queued again");
    mailport_outbox_record_free(record);
    record = NULL;
    expect_ok(mailport_outbox_cancel(outbox, busy_id, NULL, &err), &err, "cancel");
    CHECK(mailport_outbox_cancel(outbox, busy_id, NULL, &err) == MAILPORT_ERR_INVALID_ARGUMENT,
          "cancel twice");
    CHECK(contains(mailport_error_message(err), "already cancelled"), "says so");
    mailport_error_free(err);
    err = NULL;
    CHECK(mailport_outbox_retry(outbox, sent_id, NULL, &err) == MAILPORT_ERR_INVALID_ARGUMENT,
          "a sent entry cannot be retried");
    mailport_error_free(err);
    err = NULL;

    /* Both are finished now. */
    expect_ok(mailport_outbox_list(outbox, finished, 2, 0, &records, &err), &err, "list");
    CHECK(mailport_outbox_records_count(records) == 2, "two finished entries");
    for (i = 0; i < mailport_outbox_records_count(records); i++) {
        const mailport_outbox_record *r = mailport_outbox_records_record(records, i);
        printf("record %s %s\n", mailport_outbox_record_id(r),
               state_name(mailport_outbox_record_state(r)));
    }
    CHECK(strcmp(mailport_outbox_record_id(mailport_outbox_records_record(records, 0)), sent_id)
              == 0,
          "oldest first");
    CHECK(mailport_outbox_records_json(records)[0] == '[', "JSON array");
    mailport_outbox_records_free(records);

    /* Nothing is older than an hour. */
    expect_ok(mailport_outbox_prune(outbox, 3600000, &removed, &err), &err, "prune");
    CHECK(removed == 0, "nothing pruned");
    /* A run with nothing due does nothing (summary not wanted). */
    expect_ok(mailport_outbox_run(outbox, 1, 0, NULL, &err), &err, "second run");
    mailport_outbox_free(outbox);

    CHECK(heard.enqueued == 2, "two enqueued");
    CHECK(heard.sent == 1, "one sent");
    CHECK(heard.deferred == 1, "one deferred");
    CHECK(heard.retried == 1, "one retried");
    CHECK(heard.cancelled == 1, "one cancelled");
    CHECK(heard.recovered == 0 && heard.other == 0, "no other event");
    printf("EVENTS %u %u\n", heard.state_changes, heard.failing + heard.recovered);
    printf("MESSAGES_SENT %d\n", sent);
    return failures == 0 && sent == 1 ? 0 : 1;
}
