/*
 * mailport C API, connection check: probe a port where nothing listens and a STARTTLS server,
 * read the report through every accessor, check the misuse errors, and free everything (run
 * under valgrind by tests/c_abi.rs).
 *
 *   probe REFUSED_PORT SERVER_PORT CA_PEM
 *
 * Nothing may listen on 127.0.0.1:REFUSED_PORT. The server on localhost:SERVER_PORT must offer
 * STARTTLS with a certificate for "localhost" signed by CA_PEM, greet as "localhost", and ask
 * for no credentials. The program prints the report's JSON between the lines "JSON_BEGIN" and
 * "JSON_END", then "RECOMMENDATION <line>", and exits 0; every failed check is printed and makes
 * it exit 1.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/probe.c \
 *            -Ltarget/debug -lmailport
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Check that a call failed with `code` and an error whose message contains `needle`. */
static void expect_error(mailport_result rc, mailport_error **errp, mailport_result code,
                         const char *needle, const char *what) {
    mailport_error *err = *errp;
    *errp = NULL;
    if (rc != code) {
        fprintf(stderr, "FAIL %s: expected %s, got %s: %s\n", what, mailport_result_name(code),
                mailport_result_name(rc), mailport_error_message(err));
        failures++;
    }
    CHECK(err != NULL && mailport_error_code(err) == rc, "the error object has the code");
    if (err != NULL && strstr(mailport_error_message(err), needle) == NULL) {
        fprintf(stderr, "FAIL %s: message %s lacks \"%s\"\n", what, mailport_error_message(err),
                needle);
        failures++;
    }
    mailport_error_free(err);
}

/* Misuse is an error of the call (and never a report). */
static void misuse(mailport_config *cfg, mailport_probe_options *opts) {
    mailport_error *err = NULL;
    mailport_report *report = (mailport_report *)&err; /* not NULL: must be NULLed on entry */
    const uint16_t zero[] = {587, 0};
    mailport_result rc;

    rc = mailport_probe(NULL, opts, &report, &err);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "mailport_probe with a NULL cfg");
    CHECK(report == NULL, "report_out is NULLed on entry");
    expect_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "cfg", "probe NULL cfg");
    rc = mailport_probe(NULL, NULL, NULL, NULL);
    CHECK(rc == MAILPORT_ERR_NULL_ARGUMENT, "mailport_probe with everything NULL");
    rc = mailport_probe(cfg, opts, NULL, &err);
    expect_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "report_out", "probe NULL report_out");

    rc = mailport_probe_options_set_ports(opts, zero, 2, &err);
    expect_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "ports[1]", "port 0");
    rc = mailport_probe_options_set_ports(opts, zero, 0, &err);
    expect_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "at least one", "no port");
    rc = mailport_probe_options_set_flags(opts, 4, &err);
    expect_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "flags", "unknown flag");
    rc = mailport_probe_options_set_deadline_ms(opts, 0, &err);
    expect_error(rc, &err, MAILPORT_ERR_INVALID_ARGUMENT, "deadline", "zero deadline");
    rc = mailport_probe_options_set_envelope(opts, "me@example.org", NULL, &err);
    expect_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "to", "half an envelope");
    rc = mailport_probe_options_set_flags(NULL, 0, &err);
    expect_error(rc, &err, MAILPORT_ERR_NULL_ARGUMENT, "opts", "NULL options");

    /* Accessors on NULL are neutral. */
    CHECK(!mailport_report_ok(NULL), "ok(NULL)");
    CHECK(strcmp(mailport_report_json(NULL), "") == 0, "json(NULL)");
    CHECK(mailport_report_finding_count(NULL) == 0, "finding_count(NULL)");
    mailport_report_free(NULL);
    mailport_probe_options_free(NULL);
}

int main(int argc, char **argv) {
    mailport_config *cfg;
    mailport_probe_options *opts;
    mailport_report *report = NULL;
    mailport_error *err = NULL;
    mailport_result rc;
    uint16_t ports[2];
    char expected[64];
    size_t i, count;
    int refused_found = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: %s REFUSED_PORT SERVER_PORT CA_PEM\n", argv[0]);
        return 2;
    }
    ports[0] = (uint16_t)strtoul(argv[1], NULL, 10);
    ports[1] = (uint16_t)strtoul(argv[2], NULL, 10);
    printf("%s (ABI %u)\n", mailport_version(), (unsigned)mailport_abi_version());

    cfg = mailport_config_new();
    CHECK(cfg != NULL, "mailport_config_new");
    expect_ok(mailport_config_set_host(cfg, "localhost", &err), &err, "set_host");
    expect_ok(mailport_config_add_ca_file(cfg, argv[3], &err), &err, "add_ca_file");
    expect_ok(mailport_config_set_system_roots(cfg, false, &err), &err, "set_system_roots");
    expect_ok(mailport_config_set_webpki_roots(cfg, false, &err), &err, "set_webpki_roots");
    expect_ok(mailport_config_set_helo_name(cfg, "client.example.org", &err), &err, "helo");
    expect_ok(mailport_config_set_connect_timeout_ms(cfg, 10000, &err), &err, "timeout");

    opts = mailport_probe_options_new();
    CHECK(opts != NULL, "mailport_probe_options_new");
    misuse(cfg, opts);
    expect_ok(mailport_probe_options_set_ports(opts, ports, 2, &err), &err, "set_ports");
    expect_ok(mailport_probe_options_set_deadline_ms(opts, 20000, &err), &err, "deadline");
    expect_ok(mailport_probe_options_set_greeting_wait_ms(opts, 1500, &err), &err, "greeting");
    expect_ok(mailport_probe_options_set_flags(opts, MAILPORT_PROBE_SKIP_AUTH, &err), &err,
              "flags");
    expect_ok(mailport_probe_options_set_flags(opts, 0, &err), &err, "flags back to 0");
    expect_ok(mailport_probe_options_set_envelope(opts, NULL, NULL, &err), &err, "no envelope");

    /* The refused port is data, not an error. */
    rc = mailport_probe(cfg, opts, &report, &err);
    expect_ok(rc, &err, "mailport_probe");
    CHECK(report != NULL, "a report");
    if (report != NULL) {
        printf("JSON_BEGIN\n%s\nJSON_END\n", mailport_report_json(report));
        printf("RECOMMENDATION %s\n", mailport_report_recommendation(report));
        printf("SUMMARY\n%s\n", mailport_report_summary(report));
        printf("REASON %s\n", mailport_report_recommendation_reason(report));

        CHECK(mailport_report_ok(report), "some port works");
        CHECK(mailport_report_recommended_port(report) == ports[1], "the server's port");
        CHECK(mailport_report_recommended_security(report) == MAILPORT_SECURITY_STARTTLS,
              "recommended security is STARTTLS");
        snprintf(expected, sizeof expected, "port=%u security=starttls", (unsigned)ports[1]);
        CHECK(strcmp(mailport_report_recommendation(report), expected) == 0,
              "recommendation line");
        CHECK(strlen(mailport_report_recommendation_reason(report)) > 0, "a reason");
        CHECK(strlen(mailport_report_summary(report)) > 0, "a summary");

        count = mailport_report_finding_count(report);
        for (i = 0; i < count; i++) {
            const char *code = mailport_report_finding_code(report, i);
            printf("FINDING %s (%s) port=%u: %s\n  hint: %s\n", code,
                   mailport_report_finding_severity(report, i),
                   (unsigned)mailport_report_finding_port(report, i),
                   mailport_report_finding_message(report, i),
                   mailport_report_finding_hint(report, i));
            if (strcmp(code, "port_refused") == 0) {
                refused_found = 1;
                CHECK(mailport_report_finding_port(report, i) == ports[0],
                      "port_refused names the refused port");
                CHECK(strcmp(mailport_report_finding_severity(report, i), "error") == 0,
                      "a refused port is an error");
            }
        }
        CHECK(refused_found, "a port_refused finding");
        CHECK(strcmp(mailport_report_finding_code(report, count), "") == 0,
              "out-of-range finding gives \"\"");
        CHECK(mailport_report_finding_port(report, count) == 0, "out-of-range port gives 0");
    }
    mailport_report_free(report);
    mailport_probe_options_free(opts);
    mailport_config_free(cfg);

    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
