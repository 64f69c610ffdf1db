/*
 * The library loaded, closed and loaded again with dlopen()/dlclose(), the way PHP's FFI::cdef
 * does on every request: a persistent session pooled before the dlclose() must still be there
 * after the next dlopen() (the library is linked with -z nodelete), not leaked with its socket.
 *
 *   reload LIBRARY HOST PORT CA_PEM
 *
 * The server must offer STARTTLS with a certificate signed by CA_PEM and accept AUTH for
 * user:secret. Each of two "requests" dlopen()s LIBRARY, sends one message with a new persistent
 * client, frees everything and dlclose()s. Prints "MESSAGES_SENT 2" and exits 0 on success.
 */
#define _POSIX_C_SOURCE 200809L

#include "mailport.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef mailport_result (*from_url_fn)(const char *, mailport_config **, mailport_error **);
typedef mailport_result (*add_ca_fn)(mailport_config *, const char *, mailport_error **);
typedef mailport_result (*persistent_fn)(mailport_config *, bool, uint32_t, mailport_error **);
typedef mailport_result (*client_new_fn)(const mailport_config *, mailport_client **,
                                         mailport_error **);
typedef mailport_result (*send_raw_fn)(mailport_client *, const char *, const char *const *,
                                       size_t, const uint8_t *, size_t, mailport_receipt **,
                                       mailport_error **);
typedef const char *(*error_message_fn)(const mailport_error *);
typedef void (*free_fn)(void *);

static void *symbol(void *library, const char *name) {
    void *found = dlsym(library, name);
    if (found == NULL) fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
    return found;
}

/* dlsym() returns an object pointer; POSIX's way of turning it into a function pointer. */
#define LOAD(fn, name) (*(void **)(&(fn)) = symbol(library, (name)))

/* One request: load, send one message through a persistent client, free, unload. */
static int request(const char *path, const char *url, const char *ca, int n) {
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return 0;
    }
    from_url_fn from_url;
    LOAD(from_url, "mailport_config_from_url");
    add_ca_fn add_ca;
    LOAD(add_ca, "mailport_config_add_ca_file");
    persistent_fn set_persistent;
    LOAD(set_persistent, "mailport_config_set_persistent");
    client_new_fn client_new;
    LOAD(client_new, "mailport_client_new");
    send_raw_fn send_raw;
    LOAD(send_raw, "mailport_client_send_raw");
    error_message_fn error_message;
    LOAD(error_message, "mailport_error_message");
    free_fn config_free;
    LOAD(config_free, "mailport_config_free");
    free_fn client_free;
    LOAD(client_free, "mailport_client_free");
    free_fn receipt_free;
    LOAD(receipt_free, "mailport_receipt_free");
    free_fn error_free;
    LOAD(error_free, "mailport_error_free");
    if (!from_url || !add_ca || !set_persistent || !client_new || !send_raw || !error_message ||
        !config_free || !client_free || !receipt_free || !error_free) {
        dlclose(library);
        return 0;
    }

    mailport_config *cfg = NULL;
    mailport_client *client = NULL;
    mailport_receipt *receipt = NULL;
    mailport_error *err = NULL;
    int sent = 0;
    char message[128];
    snprintf(message, sizeof message, "Subject: request %d\r\n\r\nrequest %d\r\n", n, n);
    const char *to[] = {"rcpt@example.org"};
    if (from_url(url, &cfg, &err) == MAILPORT_OK && add_ca(cfg, ca, &err) == MAILPORT_OK &&
        set_persistent(cfg, true, 60000, &err) == MAILPORT_OK &&
        client_new(cfg, &client, &err) == MAILPORT_OK &&
        send_raw(client, "sender@example.org", to, 1, (const uint8_t *)message, strlen(message),
                 &receipt, &err) == MAILPORT_OK) {
        sent = 1;
    } else {
        fprintf(stderr, "request %d failed: %s\n", n, err ? error_message(err) : "?");
    }
    receipt_free(receipt);
    error_free(err);
    client_free(client); /* hands the session to the process-wide pool */
    config_free(cfg);
    dlclose(library);
    return sent;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: reload LIBRARY HOST PORT CA_PEM\n");
        return 2;
    }
    char url[256];
    snprintf(url, sizeof url, "smtp+starttls://user:secret@%s:%s", argv[2], argv[3]);
    int sent = request(argv[1], url, argv[4], 1) + request(argv[1], url, argv[4], 2);
    printf("MESSAGES_SENT %d\n", sent);
    return sent == 2 ? 0 : 1;
}
