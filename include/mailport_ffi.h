typedef enum mailport_result {
    MAILPORT_OK = 0,
    MAILPORT_ERR_NULL_ARGUMENT = 1,
    MAILPORT_ERR_INVALID_ARGUMENT = 2,
    MAILPORT_ERR_BUFFER_TOO_SMALL = 3,
    MAILPORT_ERR_INVALID_STATE = 4,
    MAILPORT_ERR_DNS = 20,
    MAILPORT_ERR_CONNECT_REFUSED = 21,
    MAILPORT_ERR_CONNECT_UNREACHABLE = 22,
    MAILPORT_ERR_CONNECT_TIMEOUT = 23,
    MAILPORT_ERR_TIMEOUT = 24,
    MAILPORT_ERR_CONNECTION_CLOSED = 25,
    MAILPORT_ERR_IO = 26,
    MAILPORT_ERR_TLS_HANDSHAKE = 40,
    MAILPORT_ERR_CERT_UNTRUSTED = 41,
    MAILPORT_ERR_CERT_EXPIRED = 42,
    MAILPORT_ERR_CERT_NAME_MISMATCH = 43,
    MAILPORT_ERR_PLAINTEXT_ON_TLS_PORT = 44,
    MAILPORT_ERR_TLS_ON_PLAINTEXT_PORT = 45,
    MAILPORT_ERR_STARTTLS_UNAVAILABLE = 46,
    MAILPORT_ERR_STARTTLS = 47,
    MAILPORT_ERR_AUTH_UNAVAILABLE = 60,
    MAILPORT_ERR_AUTH_FAILED = 61,
    MAILPORT_ERR_GREETING = 80,
    MAILPORT_ERR_EHLO = 81,
    MAILPORT_ERR_MAIL_FROM = 82,
    MAILPORT_ERR_RECIPIENTS_REJECTED = 83,
    MAILPORT_ERR_DATA = 84,
    MAILPORT_ERR_MESSAGE_TOO_LARGE = 85,
    MAILPORT_ERR_PROTOCOL = 86,
    MAILPORT_ERR_INVALID_ADDRESS = 100,
    MAILPORT_ERR_ATTACHMENT = 101,
    MAILPORT_ERR_OAUTH_INVALID_GRANT = 120,
    MAILPORT_ERR_OAUTH_INVALID_CLIENT = 121,
    MAILPORT_ERR_OAUTH_ENDPOINT_UNREACHABLE = 122,
    MAILPORT_ERR_OAUTH_SCOPE = 123,
    MAILPORT_ERR_OAUTH_ENDPOINT = 124,
    MAILPORT_ERR_OAUTH_CALLBACK = 125,
    MAILPORT_ERR_PANIC = 199,
} mailport_result;

typedef enum mailport_security {
    MAILPORT_SECURITY_AUTO = 0,
    MAILPORT_SECURITY_STARTTLS = 1,
    MAILPORT_SECURITY_TLS = 2,
    MAILPORT_SECURITY_OPPORTUNISTIC = 3,
    MAILPORT_SECURITY_NONE = 4,
} mailport_security;

typedef enum mailport_port {
    MAILPORT_PORT_AUTO = 0,
} mailport_port;

typedef enum mailport_log_kind {
    MAILPORT_LOG_INFO = 0,
    MAILPORT_LOG_SENT = 1,
    MAILPORT_LOG_RECEIVED = 2,
} mailport_log_kind;

typedef enum mailport_oauth_provider {
    MAILPORT_OAUTH_PROVIDER_GOOGLE = 1,
    MAILPORT_OAUTH_PROVIDER_MICROSOFT = 2,
    MAILPORT_OAUTH_PROVIDER_CUSTOM = 3,
} mailport_oauth_provider;

typedef enum mailport_wp_value {
    MAILPORT_WP_FROM_EMAIL = 0,
    MAILPORT_WP_FROM_NAME = 1,
    MAILPORT_WP_CONTENT_TYPE = 2,
    MAILPORT_WP_CHARSET = 3,
} mailport_wp_value;

typedef enum mailport_probe_flag {
    MAILPORT_PROBE_SKIP_AUTH = 1,
    MAILPORT_PROBE_ALLOW_RELAY = 2,
} mailport_probe_flag;

typedef enum mailport_address_field {
    MAILPORT_FIELD_TO = 1,
    MAILPORT_FIELD_CC = 2,
    MAILPORT_FIELD_BCC = 3,
    MAILPORT_FIELD_REPLY_TO = 4,
} mailport_address_field;

typedef enum mailport_outbox_state {
    MAILPORT_OUTBOX_STATE_NONE = 0,
    MAILPORT_OUTBOX_STATE_QUEUED = 1,
    MAILPORT_OUTBOX_STATE_SENDING = 2,
    MAILPORT_OUTBOX_STATE_SENT = 3,
    MAILPORT_OUTBOX_STATE_DEFERRED = 4,
    MAILPORT_OUTBOX_STATE_FAILED = 5,
    MAILPORT_OUTBOX_STATE_HELD = 6,
    MAILPORT_OUTBOX_STATE_CANCELLED = 7,
} mailport_outbox_state;

typedef enum mailport_outbox_event_kind {
    MAILPORT_OUTBOX_EVENT_STATE_CHANGED = 0,
    MAILPORT_OUTBOX_EVENT_CONNECTION_FAILING = 1,
    MAILPORT_OUTBOX_EVENT_CONNECTION_RECOVERED = 2,
} mailport_outbox_event_kind;

typedef enum mailport_outbox_id_size {
    MAILPORT_OUTBOX_ID_SIZE = 31,
} mailport_outbox_id_size;

typedef struct mailport_bytes mailport_bytes;

typedef struct mailport_client mailport_client;

typedef struct mailport_config mailport_config;

typedef struct mailport_error mailport_error;

typedef struct mailport_message mailport_message;

typedef struct mailport_oauth_token mailport_oauth_token;

typedef struct mailport_outbox mailport_outbox;

typedef struct mailport_outbox_record mailport_outbox_record;

typedef struct mailport_outbox_records mailport_outbox_records;

typedef struct mailport_outbox_summary mailport_outbox_summary;

typedef struct mailport_probe_options mailport_probe_options;

typedef struct mailport_receipt mailport_receipt;

typedef struct mailport_report mailport_report;

typedef struct mailport_wp_mail mailport_wp_mail;

typedef void (*mailport_log_callback)(void *userdata, uint32_t kind, const char *text, size_t len);

typedef void (*mailport_oauth_rotation_callback)(void *user_data,
                                                 const char *username,
                                                 const char *refresh_token);

typedef int32_t (*mailport_oauth_token_callback)(void *user_data,
                                                 const char *username,
                                                 bool previous_refused,
                                                 struct mailport_oauth_token *out);

typedef int (*mailport_write_callback)(void *user_data, const uint8_t *data, size_t len);

typedef void (*mailport_outbox_event_callback)(void *userdata,
                                               uint32_t kind,
                                               const char *id,
                                               uint32_t from_state,
                                               uint32_t to_state,
                                               size_t connection,
                                               const char *server,
                                               const char *text);

const char *mailport_version(void);

uint32_t mailport_abi_version(void);

void mailport_string_free(char *s);

const char *mailport_result_str(uint32_t code);

const char *mailport_result_name(uint32_t code);

enum mailport_result mailport_error_code(const struct mailport_error *err);

const char *mailport_error_message(const struct mailport_error *err);

const char *mailport_error_hint(const struct mailport_error *err);

uint16_t mailport_error_reply_code(const struct mailport_error *err);

const char *mailport_error_enhanced_status(const struct mailport_error *err);

const char *mailport_error_server_reply(const struct mailport_error *err);

bool mailport_error_is_transient(const struct mailport_error *err);

bool mailport_error_outcome_unknown(const struct mailport_error *err);

const char *mailport_error_transcript(const struct mailport_error *err);

size_t mailport_error_rejected_count(const struct mailport_error *err);

const char *mailport_error_rejected_address(const struct mailport_error *err, size_t index);

uint16_t mailport_error_rejected_reply_code(const struct mailport_error *err, size_t index);

const char *mailport_error_rejected_reply(const struct mailport_error *err, size_t index);

size_t mailport_error_invalid_address_count(const struct mailport_error *err);

const char *mailport_error_invalid_address_field(const struct mailport_error *err, size_t index);

const char *mailport_error_invalid_address_input(const struct mailport_error *err, size_t index);

const char *mailport_error_invalid_address_reason(const struct mailport_error *err, size_t index);

void mailport_error_free(struct mailport_error *err);

struct mailport_config *mailport_config_new(void);

enum mailport_result mailport_config_from_url(const char *url,
                                              struct mailport_config **config_out,
                                              struct mailport_error **error_out);

void mailport_config_free(struct mailport_config *cfg);

enum mailport_result mailport_config_set_host(struct mailport_config *cfg,
                                              const char *host,
                                              struct mailport_error **error_out);

enum mailport_result mailport_config_set_port(struct mailport_config *cfg,
                                              uint32_t port,
                                              struct mailport_error **error_out);

enum mailport_result mailport_config_set_security(struct mailport_config *cfg,
                                                  uint32_t security,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_config_set_credentials(struct mailport_config *cfg,
                                                     const char *username,
                                                     const char *password,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_config_set_password(struct mailport_config *cfg,
                                                  const char *password,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth2_token(struct mailport_config *cfg,
                                                      const char *username,
                                                      const char *token,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_config_set_helo_name(struct mailport_config *cfg,
                                                   const char *name,
                                                   struct mailport_error **error_out);

enum mailport_result mailport_config_set_connect_timeout_ms(struct mailport_config *cfg,
                                                            uint64_t ms,
                                                            struct mailport_error **error_out);

enum mailport_result mailport_config_set_command_timeout_ms(struct mailport_config *cfg,
                                                            uint64_t ms,
                                                            struct mailport_error **error_out);

enum mailport_result mailport_config_set_data_timeout_ms(struct mailport_config *cfg,
                                                         uint64_t ms,
                                                         struct mailport_error **error_out);

enum mailport_result mailport_config_set_send_timeout_ms(struct mailport_config *cfg,
                                                         uint64_t ms,
                                                         struct mailport_error **error_out);

enum mailport_result mailport_config_add_ca_file(struct mailport_config *cfg,
                                                 const char *path,
                                                 struct mailport_error **error_out);

enum mailport_result mailport_config_add_ca_pem(struct mailport_config *cfg,
                                                const void *pem,
                                                size_t len,
                                                struct mailport_error **error_out);

enum mailport_result mailport_config_set_webpki_roots(struct mailport_config *cfg,
                                                      bool enabled,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_config_set_system_roots(struct mailport_config *cfg,
                                                      bool enabled,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_config_set_tls_server_name(struct mailport_config *cfg,
                                                         const char *name,
                                                         struct mailport_error **error_out);

enum mailport_result mailport_config_dangerous_accept_invalid_certs(struct mailport_config *cfg,
                                                                    bool enabled,
                                                                    struct mailport_error **error_out);

enum mailport_result mailport_config_dangerous_allow_plaintext_auth(struct mailport_config *cfg,
                                                                    bool enabled,
                                                                    struct mailport_error **error_out);

enum mailport_result mailport_config_set_allow_partial_recipients(struct mailport_config *cfg,
                                                                  bool enabled,
                                                                  struct mailport_error **error_out);

enum mailport_result mailport_config_set_allow_relay(struct mailport_config *cfg,
                                                     bool allow,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_config_set_persistent(struct mailport_config *cfg,
                                                    bool persistent,
                                                    uint32_t idle_timeout_ms,
                                                    struct mailport_error **error_out);

enum mailport_result mailport_config_set_transcript_bodies(struct mailport_config *cfg,
                                                           bool enabled,
                                                           struct mailport_error **error_out);

enum mailport_result mailport_config_set_log_callback(struct mailport_config *cfg,
                                                      mailport_log_callback callback,
                                                      void *userdata,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_config_set_binding(struct mailport_config *cfg,
                                                 const char *binding,
                                                 struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth_refresh(struct mailport_config *cfg,
                                                       const char *username,
                                                       uint32_t provider,
                                                       const char *client_id,
                                                       const char *client_secret,
                                                       const char *refresh_token,
                                                       struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth_tenant(struct mailport_config *cfg,
                                                      const char *tenant,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth_token_url(struct mailport_config *cfg,
                                                         const char *url,
                                                         struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth_scope(struct mailport_config *cfg,
                                                     const char *scope,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth_rotation_callback(struct mailport_config *cfg,
                                                                 mailport_oauth_rotation_callback callback,
                                                                 void *user_data,
                                                                 struct mailport_error **error_out);

enum mailport_result mailport_config_set_oauth_token_callback(struct mailport_config *cfg,
                                                              const char *username,
                                                              mailport_oauth_token_callback callback,
                                                              void *user_data,
                                                              struct mailport_error **error_out);

enum mailport_result mailport_oauth_token_set(struct mailport_oauth_token *out,
                                              const char *token,
                                              uint64_t expires_in_seconds);

enum mailport_result mailport_oauth_token_fail(struct mailport_oauth_token *out,
                                               const char *message);

enum mailport_result mailport_config_set_auth_mechanism(struct mailport_config *cfg,
                                                        const char *mechanism,
                                                        struct mailport_error **error_out);

struct mailport_message *mailport_message_new(void);

enum mailport_result mailport_message_clone(const struct mailport_message *message,
                                            struct mailport_message **message_out,
                                            struct mailport_error **error_out);

void mailport_message_free(struct mailport_message *message);

enum mailport_result mailport_message_set_from(struct mailport_message *message,
                                               const char *mailbox,
                                               struct mailport_error **error_out);

enum mailport_result mailport_message_set_from_parts(struct mailport_message *message,
                                                     const char *name,
                                                     const char *address,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_message_add_mailbox_parts(struct mailport_message *message,
                                                        uint32_t field,
                                                        const char *name,
                                                        const char *address,
                                                        struct mailport_error **error_out);

enum mailport_result mailport_message_set_sender(struct mailport_message *message,
                                                 const char *mailbox,
                                                 struct mailport_error **error_out);

enum mailport_result mailport_message_add_reply_to(struct mailport_message *message,
                                                   const char *mailboxes,
                                                   struct mailport_error **error_out);

enum mailport_result mailport_message_add_to(struct mailport_message *message,
                                             const char *mailboxes,
                                             struct mailport_error **error_out);

enum mailport_result mailport_message_add_cc(struct mailport_message *message,
                                             const char *mailboxes,
                                             struct mailport_error **error_out);

enum mailport_result mailport_message_add_bcc(struct mailport_message *message,
                                              const char *mailboxes,
                                              struct mailport_error **error_out);

enum mailport_result mailport_message_set_envelope_from(struct mailport_message *message,
                                                        const char *address,
                                                        struct mailport_error **error_out);

enum mailport_result mailport_message_set_subject(struct mailport_message *message,
                                                  const char *subject,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_message_set_date(struct mailport_message *message,
                                               int64_t unix_seconds,
                                               struct mailport_error **error_out);

enum mailport_result mailport_message_set_message_id(struct mailport_message *message,
                                                     const char *id,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_message_add_header(struct mailport_message *message,
                                                 const char *name,
                                                 const char *value,
                                                 struct mailport_error **error_out);

size_t mailport_message_remove_header(struct mailport_message *message, const char *name);

enum mailport_result mailport_message_set_text(struct mailport_message *message,
                                               const char *text,
                                               struct mailport_error **error_out);

enum mailport_result mailport_message_set_text_as(struct mailport_message *message,
                                                  const char *media_type,
                                                  const char *text,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_message_set_html(struct mailport_message *message,
                                               const char *html,
                                               struct mailport_error **error_out);

enum mailport_result mailport_message_set_mime_body(struct mailport_message *message,
                                                    const char *content_type,
                                                    const void *body,
                                                    size_t len,
                                                    struct mailport_error **error_out);

enum mailport_result mailport_message_set_charset(struct mailport_message *message,
                                                  const char *label,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_message_attach_file(struct mailport_message *message,
                                                  const char *path,
                                                  const char *filename,
                                                  const char *content_type,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_message_attach_bytes(struct mailport_message *message,
                                                   const char *filename,
                                                   const char *content_type,
                                                   const void *data,
                                                   size_t len,
                                                   struct mailport_error **error_out);

enum mailport_result mailport_message_embed_file(struct mailport_message *message,
                                                 const char *content_id,
                                                 const char *path,
                                                 const char *content_type,
                                                 struct mailport_error **error_out);

enum mailport_result mailport_message_embed_bytes(struct mailport_message *message,
                                                  const char *content_id,
                                                  const char *filename,
                                                  const char *content_type,
                                                  const void *data,
                                                  size_t len,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_message_render(const struct mailport_message *message,
                                             uint8_t *buf,
                                             size_t len,
                                             size_t *out_n,
                                             struct mailport_error **error_out);

enum mailport_result mailport_message_render_bytes(const struct mailport_message *message,
                                                   struct mailport_bytes **bytes_out,
                                                   struct mailport_error **error_out);

const uint8_t *mailport_bytes_data(const struct mailport_bytes *bytes);

size_t mailport_bytes_len(const struct mailport_bytes *bytes);

void mailport_bytes_free(struct mailport_bytes *bytes);

enum mailport_result mailport_message_render_to_fd(const struct mailport_message *message,
                                                   int fd,
                                                   uint64_t *out_written,
                                                   struct mailport_error **error_out);

enum mailport_result mailport_message_render_to_callback(const struct mailport_message *message,
                                                         mailport_write_callback callback,
                                                         void *user_data,
                                                         uint64_t *out_written,
                                                         struct mailport_error **error_out);

struct mailport_wp_mail *mailport_wp_mail_new(void);

void mailport_wp_mail_free(struct mailport_wp_mail *wp);

enum mailport_result mailport_wp_mail_add_to(struct mailport_wp_mail *wp,
                                             const char *to,
                                             struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_set_subject(struct mailport_wp_mail *wp,
                                                  const char *subject,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_set_message(struct mailport_wp_mail *wp,
                                                  const char *message,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_add_headers(struct mailport_wp_mail *wp,
                                                  const char *headers,
                                                  struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_add_header(struct mailport_wp_mail *wp,
                                                 const char *header,
                                                 struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_add_attachment(struct mailport_wp_mail *wp,
                                                     const char *path,
                                                     const char *name,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_add_embed(struct mailport_wp_mail *wp,
                                                const char *content_id,
                                                const char *path,
                                                struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_set_site_domain(struct mailport_wp_mail *wp,
                                                      const char *domain,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_set_default_from(struct mailport_wp_mail *wp,
                                                       const char *email,
                                                       const char *name,
                                                       struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_set_default_charset(struct mailport_wp_mail *wp,
                                                          const char *charset,
                                                          struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_set_default_content_type(struct mailport_wp_mail *wp,
                                                               const char *content_type,
                                                               struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_parsed_value(const struct mailport_wp_mail *wp,
                                                   uint32_t which,
                                                   char *buf,
                                                   size_t len,
                                                   size_t *out_n,
                                                   struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_override(struct mailport_wp_mail *wp,
                                               uint32_t which,
                                               const char *value,
                                               struct mailport_error **error_out);

enum mailport_result mailport_wp_mail_build(const struct mailport_wp_mail *wp,
                                            struct mailport_message **message_out,
                                            struct mailport_error **error_out);

enum mailport_result mailport_client_new(const struct mailport_config *cfg,
                                         struct mailport_client **client_out,
                                         struct mailport_error **error_out);

enum mailport_result mailport_client_send(struct mailport_client *client,
                                          const struct mailport_message *message,
                                          struct mailport_receipt **receipt_out,
                                          struct mailport_error **error_out);

enum mailport_result mailport_client_send_raw(struct mailport_client *client,
                                              const char *envelope_from,
                                              const char *const *recipients,
                                              size_t recipient_count,
                                              const void *message,
                                              size_t message_len,
                                              struct mailport_receipt **receipt_out,
                                              struct mailport_error **error_out);

enum mailport_result mailport_client_noop(struct mailport_client *client,
                                          struct mailport_error **error_out);

enum mailport_result mailport_client_reset(struct mailport_client *client,
                                           struct mailport_error **error_out);

enum mailport_result mailport_client_close(struct mailport_client *client,
                                           struct mailport_error **error_out);

uint16_t mailport_client_port(const struct mailport_client *client);

enum mailport_result mailport_client_transcript(const struct mailport_client *client,
                                                char *buf,
                                                size_t len,
                                                size_t *out_n);

char *mailport_client_transcript_copy(const struct mailport_client *client);

void mailport_client_free(struct mailport_client *client);

uint16_t mailport_receipt_reply_code(const struct mailport_receipt *receipt);

const char *mailport_receipt_enhanced_status(const struct mailport_receipt *receipt);

const char *mailport_receipt_server_reply(const struct mailport_receipt *receipt);

size_t mailport_receipt_accepted_count(const struct mailport_receipt *receipt);

const char *mailport_receipt_accepted(const struct mailport_receipt *receipt, size_t index);

size_t mailport_receipt_rejected_count(const struct mailport_receipt *receipt);

const char *mailport_receipt_rejected_address(const struct mailport_receipt *receipt, size_t index);

uint16_t mailport_receipt_rejected_reply_code(const struct mailport_receipt *receipt, size_t index);

const char *mailport_receipt_rejected_reply(const struct mailport_receipt *receipt, size_t index);

uint16_t mailport_receipt_port(const struct mailport_receipt *receipt);

uint32_t mailport_receipt_security(const struct mailport_receipt *receipt);

const char *mailport_receipt_tls_version(const struct mailport_receipt *receipt);

const char *mailport_receipt_tls_cipher(const struct mailport_receipt *receipt);

bool mailport_receipt_tls_resumed(const struct mailport_receipt *receipt);

uint64_t mailport_receipt_size(const struct mailport_receipt *receipt);

const char *mailport_receipt_message_id(const struct mailport_receipt *receipt);

void mailport_receipt_free(struct mailport_receipt *receipt);

enum mailport_result mailport_pool_drain(uint32_t timeout_ms,
                                         size_t *closed_out,
                                         struct mailport_error **error_out);

struct mailport_probe_options *mailport_probe_options_new(void);

void mailport_probe_options_free(struct mailport_probe_options *opts);

enum mailport_result mailport_probe_options_set_ports(struct mailport_probe_options *opts,
                                                      const uint16_t *ports,
                                                      size_t count,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_probe_options_set_deadline_ms(struct mailport_probe_options *opts,
                                                            uint32_t ms,
                                                            struct mailport_error **error_out);

enum mailport_result mailport_probe_options_set_greeting_wait_ms(struct mailport_probe_options *opts,
                                                                 uint32_t ms,
                                                                 struct mailport_error **error_out);

enum mailport_result mailport_probe_options_set_flags(struct mailport_probe_options *opts,
                                                      uint32_t flags,
                                                      struct mailport_error **error_out);

enum mailport_result mailport_probe_options_set_envelope(struct mailport_probe_options *opts,
                                                         const char *from,
                                                         const char *to,
                                                         struct mailport_error **error_out);

enum mailport_result mailport_probe(const struct mailport_config *cfg,
                                    const struct mailport_probe_options *opts,
                                    struct mailport_report **report_out,
                                    struct mailport_error **error_out);

bool mailport_report_ok(const struct mailport_report *report);

const char *mailport_report_summary(const struct mailport_report *report);

const char *mailport_report_recommendation(const struct mailport_report *report);

const char *mailport_report_recommendation_reason(const struct mailport_report *report);

uint16_t mailport_report_recommended_port(const struct mailport_report *report);

uint32_t mailport_report_recommended_security(const struct mailport_report *report);

const char *mailport_report_json(const struct mailport_report *report);

size_t mailport_report_finding_count(const struct mailport_report *report);

const char *mailport_report_finding_code(const struct mailport_report *report, size_t index);

const char *mailport_report_finding_message(const struct mailport_report *report, size_t index);

const char *mailport_report_finding_hint(const struct mailport_report *report, size_t index);

uint16_t mailport_report_finding_port(const struct mailport_report *report, size_t index);

const char *mailport_report_finding_severity(const struct mailport_report *report, size_t index);

void mailport_report_free(struct mailport_report *report);

enum mailport_result mailport_outbox_open(const char *location,
                                          const struct mailport_config *const *connections,
                                          size_t count,
                                          struct mailport_outbox **outbox_out,
                                          struct mailport_error **error_out);

void mailport_outbox_free(struct mailport_outbox *outbox);

enum mailport_result mailport_outbox_set_min_backoff_ms(struct mailport_outbox *outbox,
                                                        uint64_t ms,
                                                        struct mailport_error **error_out);

enum mailport_result mailport_outbox_set_max_backoff_ms(struct mailport_outbox *outbox,
                                                        uint64_t ms,
                                                        struct mailport_error **error_out);

enum mailport_result mailport_outbox_set_lifetime_ms(struct mailport_outbox *outbox,
                                                     uint64_t ms,
                                                     struct mailport_error **error_out);

enum mailport_result mailport_outbox_set_retry_unknown(struct mailport_outbox *outbox,
                                                       bool enabled,
                                                       struct mailport_error **error_out);

enum mailport_result mailport_outbox_set_keep_sent(struct mailport_outbox *outbox,
                                                   bool enabled,
                                                   struct mailport_error **error_out);

enum mailport_result mailport_outbox_set_keep_transcripts(struct mailport_outbox *outbox,
                                                          bool enabled,
                                                          struct mailport_error **error_out);

enum mailport_result mailport_outbox_set_event_callback(struct mailport_outbox *outbox,
                                                        mailport_outbox_event_callback callback,
                                                        void *userdata,
                                                        struct mailport_error **error_out);

enum mailport_result mailport_outbox_enqueue(struct mailport_outbox *outbox,
                                             const struct mailport_message *message,
                                             char *id_buf,
                                             size_t id_len,
                                             size_t *id_n,
                                             struct mailport_error **error_out);

enum mailport_result mailport_outbox_enqueue_raw(struct mailport_outbox *outbox,
                                                 const char *envelope_from,
                                                 const char *const *recipients,
                                                 size_t recipient_count,
                                                 const void *message,
                                                 size_t message_len,
                                                 char *id_buf,
                                                 size_t id_len,
                                                 size_t *id_n,
                                                 struct mailport_error **error_out);

enum mailport_result mailport_outbox_run(struct mailport_outbox *outbox,
                                         size_t limit,
                                         uint64_t deadline_ms,
                                         struct mailport_outbox_summary **summary_out,
                                         struct mailport_error **error_out);

enum mailport_result mailport_outbox_list(const struct mailport_outbox *outbox,
                                          const uint32_t *states,
                                          size_t state_count,
                                          size_t limit,
                                          struct mailport_outbox_records **records_out,
                                          struct mailport_error **error_out);

enum mailport_result mailport_outbox_get(const struct mailport_outbox *outbox,
                                         const char *id,
                                         struct mailport_outbox_record **record_out,
                                         struct mailport_error **error_out);

enum mailport_result mailport_outbox_retry(struct mailport_outbox *outbox,
                                           const char *id,
                                           struct mailport_outbox_record **record_out,
                                           struct mailport_error **error_out);

enum mailport_result mailport_outbox_cancel(struct mailport_outbox *outbox,
                                            const char *id,
                                            struct mailport_outbox_record **record_out,
                                            struct mailport_error **error_out);

enum mailport_result mailport_outbox_prune(struct mailport_outbox *outbox,
                                           uint64_t older_than_ms,
                                           size_t *removed_out,
                                           struct mailport_error **error_out);

const char *mailport_outbox_record_id(const struct mailport_outbox_record *record);

uint32_t mailport_outbox_record_state(const struct mailport_outbox_record *record);

int64_t mailport_outbox_record_created(const struct mailport_outbox_record *record);

int64_t mailport_outbox_record_due(const struct mailport_outbox_record *record);

const char *mailport_outbox_record_message_id(const struct mailport_outbox_record *record);

const char *mailport_outbox_record_envelope_from(const struct mailport_outbox_record *record);

uint64_t mailport_outbox_record_size(const struct mailport_outbox_record *record);

uint32_t mailport_outbox_record_retries(const struct mailport_outbox_record *record);

const char *mailport_outbox_record_reason(const struct mailport_outbox_record *record);

bool mailport_outbox_record_maybe_delivered(const struct mailport_outbox_record *record);

int64_t mailport_outbox_record_delivered_by(const struct mailport_outbox_record *record);

size_t mailport_outbox_record_recipient_count(const struct mailport_outbox_record *record);

const char *mailport_outbox_record_recipient_address(const struct mailport_outbox_record *record,
                                                     size_t index);

const char *mailport_outbox_record_recipient_state(const struct mailport_outbox_record *record,
                                                   size_t index);

const char *mailport_outbox_record_recipient_reply(const struct mailport_outbox_record *record,
                                                   size_t index);

size_t mailport_outbox_record_attempt_count(const struct mailport_outbox_record *record);

int64_t mailport_outbox_record_attempt_at(const struct mailport_outbox_record *record,
                                          size_t index);

size_t mailport_outbox_record_attempt_connection(const struct mailport_outbox_record *record,
                                                 size_t index);

const char *mailport_outbox_record_attempt_server(const struct mailport_outbox_record *record,
                                                  size_t index);

const char *mailport_outbox_record_attempt_outcome(const struct mailport_outbox_record *record,
                                                   size_t index);

const char *mailport_outbox_record_attempt_kind(const struct mailport_outbox_record *record,
                                                size_t index);

const char *mailport_outbox_record_attempt_message(const struct mailport_outbox_record *record,
                                                   size_t index);

uint16_t mailport_outbox_record_attempt_reply_code(const struct mailport_outbox_record *record,
                                                   size_t index);

const char *mailport_outbox_record_attempt_enhanced_status(const struct mailport_outbox_record *record,
                                                           size_t index);

const char *mailport_outbox_record_attempt_queue_id(const struct mailport_outbox_record *record,
                                                    size_t index);

const char *mailport_outbox_record_attempt_transcript(const struct mailport_outbox_record *record,
                                                      size_t index);

const char *mailport_outbox_record_json(const struct mailport_outbox_record *record);

void mailport_outbox_record_free(struct mailport_outbox_record *record);

size_t mailport_outbox_records_count(const struct mailport_outbox_records *records);

const struct mailport_outbox_record *mailport_outbox_records_record(const struct mailport_outbox_records *records,
                                                                    size_t index);

const char *mailport_outbox_records_json(const struct mailport_outbox_records *records);

void mailport_outbox_records_free(struct mailport_outbox_records *records);

size_t mailport_outbox_summary_sent(const struct mailport_outbox_summary *summary);

size_t mailport_outbox_summary_deferred(const struct mailport_outbox_summary *summary);

size_t mailport_outbox_summary_failed(const struct mailport_outbox_summary *summary);

size_t mailport_outbox_summary_held(const struct mailport_outbox_summary *summary);

size_t mailport_outbox_summary_via_backup(const struct mailport_outbox_summary *summary);

const char *mailport_outbox_summary_json(const struct mailport_outbox_summary *summary);

void mailport_outbox_summary_free(struct mailport_outbox_summary *summary);
