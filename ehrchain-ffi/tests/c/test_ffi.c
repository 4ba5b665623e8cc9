/*
 * C tests of the ehrchain C ABI: argument checks (NULL, zero lengths,
 * invalid UTF-8, short buffers), stable result codes, templates, TIs, key
 * stores (in memory and as callbacks), envelopes, the devnet flow, batches and
 * proofs, key capsules (both suites, the recipient's key in memory and behind
 * callbacks), and a transport implemented as C callbacks. Plain C11, no harness
 * beyond the CHECK macros below; run by `make ffi` and again under valgrind.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ehrchain.h"

static int failures = 0;
static int checks = 0;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                                          \
    } while (0)

/* Expects `call` to return `code`; prints the last error otherwise. */
#define EXPECT_RC(call, code)                                                                      \
    do {                                                                                           \
        checks++;                                                                                  \
        ehr_result rc_ = (call);                                                                   \
        if (rc_ != (ehr_result)(code)) {                                                           \
            char detail_[1024] = "";                                                               \
            size_t n_ = 0;                                                                         \
            (void)ehr_last_error(detail_, sizeof detail_, &n_);                                    \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: %s returned %u, expected %s (%u): %s\n", __FILE__, __LINE__,   \
                    #call, (unsigned)rc_, #code, (unsigned)(code), detail_);                       \
        }                                                                                          \
    } while (0)

#define OK(call) EXPECT_RC(call, EHR_OK)

/* Expects the calling thread's last error to contain `text`. */
#define EXPECT_LAST_ERROR(text)                                                                    \
    do {                                                                                           \
        char last_[1024] = "";                                                                     \
        size_t len_ = 0;                                                                           \
        (void)ehr_last_error(last_, sizeof last_, &len_);                                          \
        checks++;                                                                                  \
        if (strstr(last_, (text)) == NULL) {                                                       \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: the last error \"%s\" does not contain \"%s\"\n", __FILE__,  \
                    __LINE__, last_, (text));                                                      \
        }                                                                                          \
    } while (0)
#define LIT(s) s, (sizeof(s) - 1)

static const char *SEALING = "records-2026";
static const char *PSEUDONYMS = "pseudonyms";
static const uint8_t SEALING_KEY[32] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
static const uint8_t PSEUDONYM_KEY[32] = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                                          0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                                          0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                                          0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};

/* ---------------------------------------------------------------- codes */

static void test_result_codes_are_stable(void) {
    /* The numbers are part of the ABI: they never change. */
    EXPECT(EHR_OK == 0);
    EXPECT(EHR_NULL_ARGUMENT == 100);
    EXPECT(EHR_INVALID_UTF8 == 101);
    EXPECT(EHR_BUFFER_TOO_SMALL == 102);
    EXPECT(EHR_INVALID_JSON == 103);
    EXPECT(EHR_ZERO_LENGTH == 104);
    EXPECT(EHR_INVALID_ARGUMENT == 105);
    EXPECT(EHR_NOT_PRESENT == 106);
    EXPECT(EHR_FEATURE_DISABLED == 107);
    EXPECT(EHR_ROLE_INVALID == 108);
    EXPECT(EHR_TEMPLATE_INVALID == 200);
    EXPECT(EHR_TEMPLATE_UNKNOWN == 203);
    EXPECT(EHR_TI_MALFORMED == 300);
    EXPECT(EHR_TI_REJECTED == 301);
    EXPECT(EHR_KEY_UNKNOWN == 400);
    EXPECT(EHR_ENVELOPE_TAMPERED == 406);
    EXPECT(EHR_BATCH_EMPTY == 500);
    EXPECT(EHR_PROOF_MALFORMED == 504);
    EXPECT(EHR_BATCH_NO_SUCH_RECORD == 509);
    EXPECT(EHR_BATCH_DUPLICATE_TI == 510);
    EXPECT(EHR_TRANSPORT_UNAVAILABLE == 600);
    EXPECT(EHR_TRANSPORT_REVERTED == 607);
    EXPECT(EHR_PANIC == 900);
    EXPECT(sizeof(ehr_result) == 4);
}

static void test_messages_and_buffers(void) {
    char buf[256];
    size_t n = 12345;
    /* A code's kind and whether to try again, as JavaScript's error has them. */
    EXPECT(ehr_result_is_retryable(EHR_TRANSPORT_UNAVAILABLE));
    EXPECT(!ehr_result_is_retryable(EHR_TRANSPORT_REVERTED) && !ehr_result_is_retryable(EHR_OK));
    EXPECT(!ehr_result_is_retryable(12345));
    OK(ehr_result_kind(EHR_TRANSPORT_REVERTED, buf, sizeof buf, &n));
    EXPECT(n == 5 && strcmp(buf, "chain") == 0);
    OK(ehr_result_kind(EHR_OK, buf, sizeof buf, &n));
    EXPECT(strcmp(buf, "unknown") == 0);
    EXPECT_RC(ehr_result_kind(EHR_TI_REJECTED, buf, 2, &n), EHR_BUFFER_TOO_SMALL);
    EXPECT(n == 3);
    OK(ehr_result_message(EHR_TI_REJECTED, buf, sizeof buf, &n));
    EXPECT(n == strlen(buf));
    EXPECT(strncmp(buf, "EHR_TI_REJECTED: ", 17) == 0);
    OK(ehr_result_message(4242, buf, sizeof buf, &n));
    EXPECT(strstr(buf, "unknown") != NULL);

    /* Too small: nothing written to the buffer, the size needed reported. */
    char small[8];
    memset(small, 'x', sizeof small);
    n = 0;
    EXPECT_RC(ehr_result_message(EHR_OK, small, sizeof small, &n), EHR_BUFFER_TOO_SMALL);
    EXPECT(n == strlen("EHR_OK: success") + 1);
    EXPECT(small[0] == 'x' && small[7] == 'x');
    EXPECT_RC(ehr_result_message(EHR_OK, NULL, 0, &n), EHR_BUFFER_TOO_SMALL);
    char exact[sizeof "EHR_OK: success"];
    OK(ehr_result_message(EHR_OK, exact, sizeof exact, &n));
    EXPECT(strcmp(exact, "EHR_OK: success") == 0);
    EXPECT_RC(ehr_result_message(EHR_OK, buf, sizeof buf, NULL), EHR_NULL_ARGUMENT);
    EXPECT_RC(ehr_result_message(EHR_OK, NULL, sizeof buf, &n), EHR_NULL_ARGUMENT);

    OK(ehr_version(buf, sizeof buf, &n));
    EXPECT(n > 0);
}

static void test_bad_arguments(void) {
    ehr_templates *t = NULL;
    uint8_t id[32] = {0};
    char buf[64];
    size_t n = 0;
    EXPECT_RC(ehr_templates_new_builtin(NULL), EHR_NULL_ARGUMENT);
    OK(ehr_templates_new_builtin(&t));
    /* Each error names the argument. */
    EXPECT_RC(ehr_templates_latest(NULL, LIT("blood-pressure"), id), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`templates` is NULL");
    EXPECT_RC(ehr_templates_latest(t, NULL, 3, id), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`name` is NULL");
    EXPECT_RC(ehr_templates_latest(t, "blood-pressure", 0, id), EHR_ZERO_LENGTH);
    EXPECT_LAST_ERROR("`name` has length 0");
    EXPECT_RC(ehr_templates_latest(t, LIT("blood-pressure"), NULL), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`id_out` is NULL");
    EXPECT_RC(ehr_templates_latest(t, LIT("bl\xff\xfe"), id), EHR_INVALID_UTF8);
    EXPECT_LAST_ERROR("`name` is not valid UTF-8");
    ehr_ack *no_ack = NULL;
    EXPECT_RC(ehr_handshaker_submit(NULL, NULL, NULL, 0, NULL, &no_ack), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`handshaker` is NULL");
    EXPECT_RC(ehr_ti_new(id, id, LIT("nurse-1"), LIT("nurse"), NULL, 0, 0, NULL), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`ti_out` is NULL");
    EXPECT_RC(ehr_templates_latest(t, LIT("no-such-template"), id), EHR_TEMPLATE_UNKNOWN);
    /* Outputs are written only on success. */
    memset(id, 0xAB, sizeof id);
    EXPECT_RC(ehr_templates_latest(t, LIT("nope"), id), EHR_TEMPLATE_UNKNOWN);
    EXPECT(id[0] == 0xAB && id[31] == 0xAB);
    EXPECT_RC(ehr_templates_forms_for(t, LIT("Nurse!"), buf, sizeof buf, &n),
              EHR_ROLE_INVALID);
    EXPECT_RC(ehr_templates_forms_for(t, LIT("nurse"), buf, sizeof buf, &n), EHR_BUFFER_TOO_SMALL);
    EXPECT(n > sizeof buf);
    char *forms = malloc(n);
    size_t needed = n;
    OK(ehr_templates_forms_for(t, LIT("nurse"), forms, needed, &n));
    EXPECT(n + 1 == needed);
    EXPECT(strstr(forms, "\"blood-pressure\"") != NULL);
    free(forms);

    /* The last error carries the core's detailed message. */
    EXPECT_RC(ehr_templates_add_json(t, LIT("{\"format\": 1}"), id), EHR_TEMPLATE_INVALID);
    char detail[512];
    OK(ehr_last_error(detail, sizeof detail, &n));
    EXPECT(strstr(detail, "template") != NULL);

    /* Loading a template twice is refused. */
    uint8_t bp[32];
    OK(ehr_templates_latest(t, LIT("blood-pressure"), bp));
    char *json = malloc(64 * 1024);
    OK(ehr_templates_json(t, bp, json, 64 * 1024, &n));
    EXPECT_RC(ehr_templates_add_json(t, json, n, id), EHR_TEMPLATE_ALREADY_LOADED);
    ehr_templates *empty = NULL;
    OK(ehr_templates_new(&empty));
    OK(ehr_templates_add_json(empty, json, n, id));
    EXPECT(memcmp(id, bp, 32) == 0);
    free(json);
    ehr_templates_free(empty);

    /* Freeing NULL is harmless. */
    ehr_templates_free(NULL);
    ehr_ti_free(NULL);
    ehr_ack_free(NULL);
    ehr_tc_free(NULL);
    ehr_proof_free(NULL);
    ehr_batch_free(NULL);
    ehr_batch_builder_free(NULL);
    ehr_key_store_free(NULL);
    ehr_handshaker_free(NULL);
    ehr_transport_free(NULL);
    ehr_templates_free(t);
}

/* ------------------------------------------------------------ key stores */

struct host_keys {
    int calls;
    int fail;
};

static ehr_result host_master_key(void *userdata, const char *key_id, size_t key_id_len,
                                  uint8_t *key_out) {
    struct host_keys *keys = userdata;
    keys->calls++;
    if (keys->fail) {
        return EHR_KEY_STORE_UNAVAILABLE;
    }
    if (key_id_len == strlen(SEALING) && memcmp(key_id, SEALING, key_id_len) == 0) {
        memcpy(key_out, SEALING_KEY, 32);
        return EHR_OK;
    }
    if (key_id_len == strlen(PSEUDONYMS) && memcmp(key_id, PSEUDONYMS, key_id_len) == 0) {
        memcpy(key_out, PSEUDONYM_KEY, 32);
        return EHR_OK;
    }
    return EHR_KEY_UNKNOWN;
}

/* ehr_key_store_callbacks as a header before `recipient_key` declared it:
 * what a host built against that header passes. */
struct key_store_callbacks_v1 {
    size_t struct_size;
    void *userdata;
    ehr_result (*master_key)(void *userdata, const char *key_id, size_t key_id_len,
                             uint8_t *key_out);
};

/* An older host's key store callbacks, alone on the heap (valgrind reports
 * any read past them), as the newer header's type. */
static const ehr_key_store_callbacks *key_store_callbacks_v1(void *userdata,
                                                            ehr_result (*master_key)(
                                                                void *, const char *, size_t,
                                                                uint8_t *)) {
    struct key_store_callbacks_v1 *old = malloc(sizeof *old);
    old->struct_size = sizeof *old;
    old->userdata = userdata;
    old->master_key = master_key;
    return (const ehr_key_store_callbacks *)(const void *)old;
}

static ehr_key_store *memory_keys(void) {
    ehr_key_store *keys = NULL;
    OK(ehr_key_store_new(&keys));
    OK(ehr_key_store_insert(keys, SEALING, strlen(SEALING), SEALING_KEY));
    OK(ehr_key_store_insert(keys, PSEUDONYMS, strlen(PSEUDONYMS), PSEUDONYM_KEY));
    return keys;
}

/* The validator's next ACK (there must be one), its summary in `s`. */
static ehr_ack *next_ack(ehr_validator *v, ehr_ack_summary *s) {
    ehr_ack *ack = NULL;
    OK(ehr_validator_poll_ack(v, &ack));
    OK(ehr_ack_to_summary(ack, s));
    return ack;
}

/* Runs `v` through `chain` to its verdict (no deadline, no cancel) and
 * returns its first ACK, its summary in `s`. */
static ehr_ack *run_to_ack(ehr_validator *v, ehr_transport *chain, ehr_ack_summary *s) {
    OK(ehr_validator_run(v, chain, 0, NULL));
    return next_ack(v, s);
}

/* A validator that does not wait long: `confirmations` blocks, polls every
 * millisecond, retries after 1 to 2 ms during an outage. */
static ehr_validator_config *quick_validator(uint64_t confirmations) {
    ehr_validator_config_builder *b = NULL;
    ehr_validator_config *config = NULL;
    OK(ehr_validator_config_builder_new(&b));
    OK(ehr_validator_config_builder_set_confirmations(b, confirmations));
    OK(ehr_validator_config_builder_set_poll_interval_ms(b, 1));
    OK(ehr_validator_config_builder_set_backoff_initial_ms(b, 1));
    OK(ehr_validator_config_builder_set_backoff_max_ms(b, 2));
    OK(ehr_validator_config_builder_build(b, &config));
    ehr_validator_config_builder_free(b);
    return config;
}

/* A handshaker for `chain`'s chain and registry (chain 1337 and a zero
 * registry without a chain). */
static ehr_handshaker *handshaker(const ehr_templates *t, const ehr_key_store *keys,
                                  const ehr_transport *chain) {
    uint64_t chain_id = 1337;
    uint8_t registry[20] = {0};
    if (chain != NULL) {
        OK(ehr_transport_chain(chain, &chain_id, registry));
    }
    ehr_handshaker_config_builder *b = NULL;
    OK(ehr_handshaker_config_builder_new(chain_id, registry, SEALING, strlen(SEALING), PSEUDONYMS,
                                         strlen(PSEUDONYMS), &b));
    ehr_validator_config *validator = quick_validator(2);
    OK(ehr_handshaker_config_builder_set_validator(b, validator));
    ehr_validator_config_free(validator);
    ehr_handshaker_config *config = NULL;
    OK(ehr_handshaker_config_builder_build(b, &config));
    ehr_handshaker_config_builder_free(b);
    ehr_handshaker *hs = NULL;
    OK(ehr_handshaker_new(t, keys, config, &hs));
    ehr_handshaker_config_free(config);
    return hs;
}

/* A blood-pressure TI with a fresh id at `now_ms` by `author` acting as
 * `role` for `patient`. */
static ehr_ti *bp_ti_by(const ehr_templates *t, const char *author, const char *role,
                        const char *patient, const char *systolic, const char *diastolic,
                        uint64_t now_ms) {
    uint8_t template_id[32];
    uint8_t ti_id[32];
    OK(ehr_templates_latest(t, LIT("blood-pressure"), template_id));
    OK(ehr_random_id(ti_id));
    ehr_ti *ti = NULL;
    OK(ehr_ti_new(ti_id, template_id, author, strlen(author), role, strlen(role), patient,
                  strlen(patient), now_ms / 1000, &ti));
    OK(ehr_ti_set_field(ti, LIT("systolic"), systolic, strlen(systolic)));
    OK(ehr_ti_set_field(ti, LIT("diastolic"), diastolic, strlen(diastolic)));
    return ti;
}

/* A nurse's blood-pressure reading, now. */
static ehr_ti *bp_ti(const ehr_templates *t, const char *systolic) {
    return bp_ti_by(t, "nurse-0815", "nurse", "MRN-000123", systolic, "84", ehr_clock_now_ms());
}

/* A blood-pressure TI at `now_ms` by a pathologist, whom the template
 * refuses. */
static ehr_ti *refused_ti(const ehr_templates *t, uint64_t now_ms) {
    return bp_ti_by(t, "path-1", "pathologist", "MRN-1", "120", "80", now_ms);
}

static void test_key_store_callbacks_and_envelopes(void) {
    ehr_templates *t = NULL;
    OK(ehr_templates_new_builtin(&t));
    struct host_keys host = {0, 0};
    ehr_key_store_callbacks cb = EHR_KEY_STORE_CALLBACKS_INIT;
    cb.userdata = &host;
    cb.master_key = host_master_key;
    ehr_key_store *keys = NULL;
    ehr_key_store_callbacks no_cb = {.struct_size = sizeof no_cb, .userdata = &host};
    EXPECT_RC(ehr_key_store_new_callbacks(&no_cb, &keys), EHR_NULL_ARGUMENT);
    OK(ehr_key_store_new_callbacks(&cb, &keys));
    EXPECT_RC(ehr_key_store_insert(keys, LIT("k"), SEALING_KEY), EHR_INVALID_ARGUMENT);
    ehr_handshaker *hs = handshaker(t, keys, NULL);
    EXPECT(host.calls == 2); /* the sealing key is there; the pseudonym key, once */

    ehr_ti *ti = bp_ti(t, "128");
    ehr_tc *tc = NULL;
    OK(ehr_handshaker_generate(hs, ti, ehr_clock_now_ms(), &tc));
    size_t len = 0;
    EXPECT_RC(ehr_tc_envelope(tc, NULL, 0, &len), EHR_BUFFER_TOO_SMALL);
    uint8_t *envelope = malloc(len);
    OK(ehr_tc_envelope(tc, envelope, len, &len));
    uint8_t record_hash[32];
    uint8_t computed[32];
    OK(ehr_tc_record_hash(tc, record_hash));
    OK(ehr_envelope_record_hash(envelope, len, computed));
    EXPECT(memcmp(record_hash, computed, 32) == 0);

    /* Both key stores open it. */
    char record[4096];
    size_t n = 0;
    OK(ehr_envelope_open(keys, envelope, len, (uint8_t *)record, sizeof record - 1, &n));
    record[n] = '\0';
    EXPECT(strstr(record, "\"systolic\":128") != NULL);
    ehr_key_store *mem = memory_keys();
    OK(ehr_envelope_open(mem, envelope, len, (uint8_t *)record, sizeof record, &n));

    /* A tampered ciphertext, a wrong key, an unavailable store, garbage. */
    envelope[len - 1] ^= 1;
    EXPECT_RC(ehr_envelope_open(mem, envelope, len, (uint8_t *)record, sizeof record, &n),
              EHR_ENVELOPE_TAMPERED);
    envelope[len - 1] ^= 1;
    ehr_key_store *wrong = NULL;
    OK(ehr_key_store_new(&wrong));
    OK(ehr_key_store_insert(wrong, SEALING, strlen(SEALING), PSEUDONYM_KEY));
    EXPECT_RC(ehr_envelope_open(wrong, envelope, len, (uint8_t *)record, sizeof record, &n),
              EHR_ENVELOPE_WRONG_KEY);
    ehr_key_store_free(wrong);
    host.fail = 1;
    EXPECT_RC(ehr_envelope_open(keys, envelope, len, (uint8_t *)record, sizeof record, &n),
              EHR_KEY_STORE_UNAVAILABLE);
    /* An unavailable store is no verdict on a TI: no validator, no ACK,
     * nothing held; once it answers, the same TI goes in. */
    ehr_validator *v = NULL;
    EXPECT_RC(ehr_handshaker_validator_for(hs, ti, NULL, ehr_clock_now_ms(), &v),
              EHR_KEY_STORE_UNAVAILABLE);
    EXPECT(v == NULL);
    ehr_pipeline *p = NULL;
    uint8_t no_registry[20] = {0};
    OK(ehr_pipeline_new(1337, no_registry, 0, 0, 0, NULL, &p));
    EXPECT_RC(ehr_handshaker_push(hs, p, ti, EHR_PRIORITY_URGENT, ehr_clock_now_ms()),
              EHR_KEY_STORE_UNAVAILABLE);
    size_t pending = 1;
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 0);
    host.fail = 0;
    OK(ehr_handshaker_push(hs, p, ti, EHR_PRIORITY_URGENT, ehr_clock_now_ms()));
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 1);
    ehr_pipeline_free(p);
    EXPECT_RC(ehr_envelope_open(mem, (const uint8_t *)"EHRX", 4, (uint8_t *)record,
                                sizeof record, &n),
              EHR_ENVELOPE_MALFORMED);
    /* Empty is truncated, as in every binding (docs/errors.md). */
    EXPECT_RC(ehr_envelope_open(mem, envelope, 0, (uint8_t *)record, sizeof record, &n),
              EHR_ENVELOPE_MALFORMED);

    /* ehr_envelope_seal and open round-trip. */
    uint8_t zero[32] = {0};
    uint8_t sealed[512];
    size_t sealed_len = 0;
    OK(ehr_envelope_seal(mem, SEALING, strlen(SEALING), zero, zero, zero,
                         (const uint8_t *)"hello", 5, sealed, sizeof sealed, &sealed_len));
    OK(ehr_envelope_open(keys, sealed, sealed_len, (uint8_t *)record, sizeof record, &n));
    EXPECT(n == 5 && memcmp(record, "hello", 5) == 0);
    /* Its clear header, record hash and CID, without the key. */
    {
        char info[1024], expected[80];
        uint8_t record_hash[32];
        OK(ehr_envelope_info(sealed, sealed_len, info, sizeof info, &n));
        OK(ehr_envelope_record_hash(sealed, sealed_len, record_hash));
        int at = snprintf(expected, sizeof expected, "\"recordHash\":\"0x");
        for (int i = 0; i < 32; i++) {
            at += snprintf(expected + at, sizeof expected - (size_t)at, "%02x", record_hash[i]);
        }
        EXPECT(strstr(info, expected) != NULL);
        EXPECT(strstr(info, "\"keyId\":\"records-2026\"") != NULL);
        EXPECT(strstr(info, "\"cid\":\"bafkrei") != NULL);
        EXPECT_RC(ehr_envelope_info(sealed, 0, info, sizeof info, &n), EHR_ENVELOPE_MALFORMED);
    }
    EXPECT_RC(ehr_envelope_seal(mem, LIT("no-such-key"), zero, zero, zero,
                                (const uint8_t *)"x", 1, sealed, sizeof sealed, &sealed_len),
              EHR_KEY_UNKNOWN);
    EXPECT_RC(ehr_envelope_seal(mem, LIT("bad key id"), zero, zero, zero, (const uint8_t *)"x", 1,
                                sealed, sizeof sealed, &sealed_len),
              EHR_KEY_ID_INVALID);

    free(envelope);
    ehr_tc_free(tc);
    ehr_ti_free(ti);
    ehr_handshaker_free(hs);
    ehr_key_store_free(mem);
    ehr_key_store_free(keys);
    ehr_templates_free(t);
}

/* What most tests share: the built-in templates, the in-memory keys, a chain
 * and a handshaker for that chain. */
struct fixture {
    ehr_templates *t;
    ehr_key_store *keys;
    ehr_transport *chain; /* NULL for NO_CHAIN */
    ehr_handshaker *hs;
};

enum chain_kind { NO_CHAIN, DEVNET, FAKE_CHAIN };

struct fake_chain;
static ehr_transport *fake_transport(struct fake_chain *fake);

/* A fixture on a chain of `kind`; a FAKE_CHAIN is `fake` (zeroed here)
 * behind C callbacks. */
static struct fixture fixture_new(enum chain_kind kind, struct fake_chain *fake) {
    struct fixture f = {NULL, memory_keys(), NULL, NULL};
    OK(ehr_templates_new_builtin(&f.t));
    if (kind == DEVNET) {
        OK(ehr_transport_new_devnet(f.t, &f.chain));
    } else if (kind == FAKE_CHAIN) {
        f.chain = fake_transport(fake);
    }
    f.hs = handshaker(f.t, f.keys, f.chain);
    return f;
}

static void fixture_free(struct fixture *f) {
    ehr_handshaker_free(f->hs);
    ehr_key_store_free(f->keys);
    ehr_transport_free(f->chain);
    ehr_templates_free(f->t);
}

/* A blood-pressure TI with `systolic` for `f`'s handshaker, with its TC
 * generated now into `*tc`. */
static ehr_ti *bp_tc(struct fixture *f, const char *systolic, ehr_tc **tc) {
    ehr_ti *ti = bp_ti(f->t, systolic);
    OK(ehr_handshaker_generate(f->hs, ti, ehr_clock_now_ms(), tc));
    return ti;
}

/* ------------------------------------------------------ configurations */

/* Every struct a host fills in starts with its size: an older host's
 * shorter struct works with the later (optional) callbacks absent; a size
 * below the first layout is refused, naming the struct. */
static void test_extensible_structs(void) {
    ehr_templates *t = NULL;
    OK(ehr_templates_new_builtin(&t));
    struct host_keys host = {0, 0};
    ehr_key_store *keys = NULL;

    /* Before `recipient_key`: a key store for master keys. */
    const ehr_key_store_callbacks *old = key_store_callbacks_v1(&host, host_master_key);
    OK(ehr_key_store_new_callbacks(old, &keys));
    free((void *)old); /* the key store keeps a copy */
    ehr_handshaker *hs = handshaker(t, keys, NULL);
    EXPECT(host.calls == 2);
    ehr_handshaker_free(hs);
    ehr_key_store_free(keys);

    /* Too small: zero, one byte short of the first layout. */
    ehr_key_store_callbacks cb = EHR_KEY_STORE_CALLBACKS_INIT;
    EXPECT(cb.struct_size == sizeof cb && cb.userdata == NULL && cb.recipient_key == NULL);
    cb.master_key = host_master_key;
    cb.struct_size = 0;
    keys = NULL;
    EXPECT_RC(ehr_key_store_new_callbacks(&cb, &keys), EHR_INVALID_ARGUMENT);
    EXPECT(keys == NULL);
    EXPECT_LAST_ERROR("`callbacks->struct_size` is 0, but an ehr_key_store_callbacks is at least");
    cb.struct_size = sizeof(struct key_store_callbacks_v1) - 1;
    EXPECT_RC(ehr_key_store_new_callbacks(&cb, &keys), EHR_INVALID_ARGUMENT);
    char expected[160];
    snprintf(expected, sizeof expected,
             "is at least %zu bytes: set it to sizeof(ehr_key_store_callbacks) (as "
             "EHR_KEY_STORE_CALLBACKS_INIT does)",
             sizeof(struct key_store_callbacks_v1));
    EXPECT_LAST_ERROR(expected);
    cb.struct_size = sizeof cb;
    OK(ehr_key_store_new_callbacks(&cb, &keys));
    ehr_key_store_free(keys);

    /* The transport's, the signer's: zero and one byte short. */
    ehr_transport_callbacks tcb = EHR_TRANSPORT_CALLBACKS_INIT;
    uint8_t registry[20] = {0};
    ehr_transport *chain = NULL;
    tcb.struct_size = 0;
    EXPECT_RC(ehr_transport_new_callbacks(&tcb, 1337, registry, &chain), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("`callbacks->struct_size` is 0, but an ehr_transport_callbacks is at least");
    tcb.struct_size = offsetof(ehr_transport_callbacks, anchored_batch) - 1;
    EXPECT_RC(ehr_transport_new_callbacks(&tcb, 1337, registry, &chain), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("set it to sizeof(ehr_transport_callbacks)");
    ehr_signer_callbacks scb = EHR_SIGNER_CALLBACKS_INIT;
    ehr_signer *signer = NULL;
    scb.struct_size = sizeof scb - 1;
    EXPECT_RC(ehr_signer_new_callbacks(&scb, false, &signer), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("an ehr_signer_callbacks is at least");
    EXPECT(chain == NULL && signer == NULL);
    ehr_templates_free(t);
}

static void test_configurations(void) {
    ehr_templates *t = NULL;
    OK(ehr_templates_new_builtin(&t));
    ehr_key_store *keys = memory_keys();
    uint8_t registry[20] = {0};
    ehr_handshaker_config_builder *b = NULL;
    char detail[512];
    size_t n = 0;

    /* No default chain: chain id 0 is refused, with a message saying so. */
    EXPECT_RC(ehr_handshaker_config_builder_new(0, registry, SEALING, strlen(SEALING), PSEUDONYMS,
                                                strlen(PSEUDONYMS), &b),
              EHR_INVALID_ARGUMENT);
    EXPECT(b == NULL);
    OK(ehr_last_error(detail, sizeof detail, &n));
    EXPECT(strstr(detail, "no default chain") != NULL);
    EXPECT_RC(ehr_handshaker_config_builder_new(1, registry, LIT("bad key id"), PSEUDONYMS,
                                                strlen(PSEUDONYMS), &b),
              EHR_KEY_ID_INVALID);

    /* A sealing key the key store does not hold: refused when the
     * handshaker is made, not on every TI later. */
    OK(ehr_handshaker_config_builder_new(1, registry, LIT("records-1999"), PSEUDONYMS,
                                         strlen(PSEUDONYMS), &b));
    OK(ehr_handshaker_config_builder_set_max_clock_skew_ms(b, 60000));
    EXPECT_RC(ehr_handshaker_config_builder_set_validator(b, NULL), EHR_NULL_ARGUMENT);
    ehr_handshaker_config *config = NULL;
    OK(ehr_handshaker_config_builder_build(b, &config));
    ehr_handshaker *hs = NULL;
    EXPECT_RC(ehr_handshaker_new(t, keys, config, &hs), EHR_KEY_UNKNOWN);
    EXPECT(hs == NULL);
    OK(ehr_last_error(detail, sizeof detail, &n));
    EXPECT(strstr(detail, "records-1999") != NULL);

    /* The builders' setters and frees accept what they should. */
    ehr_validator_config_builder *vb = NULL;
    OK(ehr_validator_config_builder_new(&vb));
    OK(ehr_validator_config_builder_set_inclusion_timeout_ms(vb, 60000));
    OK(ehr_validator_config_builder_set_max_resubmissions(vb, 1));
    EXPECT_RC(ehr_validator_config_builder_set_confirmations(NULL, 1), EHR_NULL_ARGUMENT);
    ehr_validator_config *vc = NULL;
    OK(ehr_validator_config_builder_build(vb, &vc));
    OK(ehr_handshaker_config_builder_set_validator(b, vc));
    ehr_handshaker_config_free(config);
    config = NULL;
    OK(ehr_handshaker_config_builder_build(b, &config));
    OK(ehr_key_store_insert(keys, LIT("records-1999"), SEALING_KEY));
    OK(ehr_handshaker_new(t, keys, config, &hs));

    ehr_handshaker_free(hs);
    ehr_handshaker_config_free(config);
    ehr_handshaker_config_builder_free(b);
    ehr_validator_config_free(vc);
    ehr_validator_config_builder_free(vb);
    ehr_validator_config_free(NULL);
    ehr_validator_config_builder_free(NULL);
    ehr_handshaker_config_free(NULL);
    ehr_handshaker_config_builder_free(NULL);
    ehr_key_store_free(keys);
    ehr_templates_free(t);
}

/* ----------------------------------------------------- TIs and violations */

static void test_tis_and_violations(void) {
    struct fixture f = fixture_new(NO_CHAIN, NULL);
    ehr_ti *ti = NULL;
    EXPECT_RC(ehr_ti_from_json(LIT("{\"tiId\": 1}"), &ti), EHR_TI_MALFORMED);
    EXPECT(ti == NULL);

    ti = bp_ti(f.t, "420");
    EXPECT_RC(ehr_ti_set_field(ti, LIT("position"), LIT("sitting")), EHR_INVALID_JSON);
    OK(ehr_ti_set_field(ti, LIT("position"), LIT("\"upside down\"")));
    ehr_tc *tc = NULL;
    EXPECT_RC(ehr_handshaker_generate(f.hs, ti, ehr_clock_now_ms(), &tc), EHR_TI_REJECTED);
    EXPECT(tc == NULL);
    char violations[4096];
    size_t n = 0;
    OK(ehr_last_violations(violations, sizeof violations, &n));
    EXPECT(strstr(violations, "\"systolic\"") != NULL);
    EXPECT(strstr(violations, "\"position\"") != NULL);

    /* Time units: a TI's timestamp is in seconds, the clock in milliseconds.
       A clock passed in seconds by mistake puts the TI far in the future. */
    ehr_ti *fine = bp_ti(f.t, "128");
    uint64_t now_ms = ehr_clock_now_ms();
    EXPECT(now_ms > UINT64_C(1700000000000)); /* after November 2023, in ms */
    EXPECT_RC(ehr_handshaker_generate(f.hs, fine, now_ms / 1000, &tc), EHR_TI_REJECTED);
    EXPECT(tc == NULL);
    OK(ehr_last_violations(violations, sizeof violations, &n));
    EXPECT(strstr(violations, "\"timestamp_in_future\"") != NULL);
    OK(ehr_handshaker_generate(f.hs, fine, now_ms, &tc));
    ehr_tc_free(tc);
    tc = NULL;
    ehr_ti_free(fine);

    /* JSON round trip of a TI. */
    char json[4096];
    OK(ehr_ti_to_json(ti, json, sizeof json, &n));
    ehr_ti *again = NULL;
    OK(ehr_ti_from_json(json, n, &again));
    char json2[4096];
    OK(ehr_ti_to_json(again, json2, sizeof json2, &n));
    EXPECT(strcmp(json, json2) == 0);

    ehr_ti_free(again);
    ehr_ti_free(ti);
    fixture_free(&f);
}

/* ------------------------------------------------------------ the devnet */

static void test_devnet_flow_batches_and_proofs(void) {
    struct fixture f = fixture_new(DEVNET, NULL);

    /* One TI, one ACK; its JSON round-trips. */
    ehr_ti *ti = bp_ti(f.t, "128");
    ehr_ack *ack = NULL;
    OK(ehr_handshaker_submit(f.hs, ti, f.chain, 0, NULL, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid && s.has_tx_hash && s.has_record_hash && !s.replay && !s.has_proof);
    char reason[256];
    size_t n = 0;
    EXPECT_RC(ehr_ack_reason(ack, reason, sizeof reason, &n), EHR_NOT_PRESENT);
    ehr_proof *none = NULL;
    EXPECT_RC(ehr_ack_proof(ack, &none), EHR_NOT_PRESENT);
    size_t json_len = 0;
    EXPECT_RC(ehr_ack_to_json(ack, NULL, 0, &json_len), EHR_BUFFER_TOO_SMALL);
    char *json = malloc(json_len);
    OK(ehr_ack_to_json(ack, json, json_len, &n));
    ehr_ack *stored = NULL;
    OK(ehr_ack_from_json(json, n, &stored));
    ehr_ack_summary s2 = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(stored, &s2));
    EXPECT(memcmp(&s.tx_hash, &s2.tx_hash, 32) == 0 && s2.valid);
    /* An output struct one byte short of the summary: refused, untouched. */
    unsigned char short_s[sizeof(ehr_ack_summary)], untouched[sizeof short_s];
    memset(short_s, 0xAB, sizeof short_s);
    size_t short_size = sizeof short_s - 1;
    memcpy(short_s, &short_size, sizeof short_size);
    memcpy(untouched, short_s, sizeof short_s);
    EXPECT_RC(ehr_ack_to_summary(stored, (ehr_ack_summary *)(void *)short_s),
              EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("`summary_out->struct_size` is");
    EXPECT_LAST_ERROR("but an ehr_ack_summary is at least");
    EXPECT(memcmp(short_s, untouched, sizeof short_s) == 0);
    free(json);
    ehr_ack_free(stored);
    ehr_ack_free(ack);
    ehr_ti_free(ti);

    /* A TI the chain refuses: a pathologist may not record blood pressure. */
    ti = refused_ti(f.t, ehr_clock_now_ms());
    OK(ehr_handshaker_submit(f.hs, ti, f.chain, 0, NULL, &ack));
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(!s.valid);
    OK(ehr_ack_reason(ack, reason, sizeof reason, &n));
    EXPECT(strstr(reason, "role") != NULL);
    ehr_ack_free(ack);
    ehr_ti_free(ti);

    /* The same TC twice: anchored once, the second ACK is a replay. */
    ehr_tc *tc = NULL;
    ti = bp_tc(&f, "130", &tc);
    ehr_validator_config *vc = quick_validator(1);
    for (int run = 0; run < 2; run++) {
        ehr_validator *v = NULL;
        OK(ehr_validator_new(tc, vc, &v));
        ack = run_to_ack(v, f.chain, &s);
        EXPECT(s.valid && s.replay == (run == 1));
        ehr_ack_free(ack);
        OK(ehr_validator_poll_ack(v, &ack));
        EXPECT(ack == NULL); /* one ACK per TI */
        ehr_validator_free(v);
    }
    ehr_tc_free(tc);
    ehr_ti_free(ti);

    /* A batch of four, anchored in one transaction; proofs in every form. */
    ehr_batch_builder *builder = NULL;
    OK(ehr_batch_builder_new(&builder));
    ehr_batch *batch = NULL;
    uint8_t batch_id[32];
    OK(ehr_random_id(batch_id));
    EXPECT_RC(ehr_batch_builder_build(builder, batch_id, &batch), EHR_BATCH_EMPTY);
    uint8_t zero[32] = {0};
    uint32_t index = 0;
    EXPECT_RC(ehr_batch_builder_push(builder, zero, &index), EHR_BATCH_ZERO_RECORD_HASH);
    ehr_tc *tcs[4];
    for (int i = 0; i < 4; i++) {
        ti = bp_ti(f.t, i % 2 ? "121" : "119");
        OK(ehr_handshaker_generate(f.hs, ti, ehr_clock_now_ms(), &tcs[i]));
        uint8_t hash[32];
        OK(ehr_tc_record_hash(tcs[i], hash));
        OK(ehr_batch_builder_push(builder, hash, &index));
        EXPECT(index == (uint32_t)i);
        ehr_ti_free(ti);
    }
    OK(ehr_batch_builder_build(builder, batch_id, &batch));
    uint8_t root[32];
    uint32_t leaves = 0;
    OK(ehr_batch_root(batch, root, &leaves));
    EXPECT(leaves == 4);
    ehr_ack *acks[4] = {NULL, NULL, NULL, NULL};
    EXPECT_RC(ehr_batch_submit(batch, (const ehr_tc *const *)tcs, 4, vc, f.chain, 0, NULL, acks, 3),
              EHR_INVALID_ARGUMENT);
    OK(ehr_batch_submit(batch, (const ehr_tc *const *)tcs, 4, vc, f.chain, 0, NULL, acks, 4));
    for (int i = 0; i < 4; i++) {
        OK(ehr_ack_to_summary(acks[i], &s));
        EXPECT(s.valid && s.has_proof);
    }

    ehr_proof *proof = NULL;
    OK(ehr_ack_proof(acks[2], &proof));
    ehr_proof_summary claims = EHR_PROOF_SUMMARY_INIT;
    OK(ehr_proof_to_summary(proof, &claims));
    EXPECT(claims.index == 2 && claims.leaf_count == 4 && memcmp(claims.root, root, 32) == 0);
    char text[1024];
    OK(ehr_proof_to_text(proof, text, sizeof text, &n));
    EXPECT(strncmp(text, "EHRP:", 5) == 0);
    ehr_proof *scanned = NULL;
    OK(ehr_proof_from_text(text, n, &scanned));
    OK(ehr_proof_verify(scanned));
    OK(ehr_proof_verify_on_chain(scanned, f.chain));
    uint8_t bytes[1024];
    size_t bytes_len = 0;
    OK(ehr_proof_to_bytes(scanned, bytes, sizeof bytes, &bytes_len));
    ehr_proof *decoded = NULL;
    OK(ehr_proof_from_bytes(bytes, bytes_len, &decoded));
    OK(ehr_proof_verify(decoded));
    OK(ehr_proof_to_json(decoded, text, sizeof text, &n));
    ehr_proof *from_json = NULL;
    OK(ehr_proof_from_json(text, n, &from_json));
    OK(ehr_proof_verify(from_json));

    /* Altered and foreign proofs. */
    ehr_proof *bad = NULL;
    bytes[bytes_len - 1] ^= 1; /* a sibling */
    OK(ehr_proof_from_bytes(bytes, bytes_len, &bad));
    EXPECT_RC(ehr_proof_verify(bad), EHR_PROOF_INVALID);
    EXPECT_RC(ehr_proof_verify_on_chain(bad, f.chain), EHR_PROOF_INVALID);

    /* Many at once: one code per proof, the first failure in the last error. */
    const ehr_proof *many[3] = {scanned, bad, decoded};
    ehr_result codes[3] = {EHR_INTERNAL, EHR_INTERNAL, EHR_INTERNAL};
    EXPECT_RC(ehr_proof_verify_many(many, 3, codes), EHR_PROOF_INVALID);
    EXPECT(codes[0] == EHR_OK && codes[1] == EHR_PROOF_INVALID && codes[2] == EHR_OK);
    char detail[512];
    OK(ehr_last_error(detail, sizeof detail, &n));
    EXPECT(strstr(detail, "proof 1 of 3 failed") != NULL);
    many[1] = from_json;
    OK(ehr_proof_verify_many(many, 3, codes));
    EXPECT(codes[0] == EHR_OK && codes[1] == EHR_OK && codes[2] == EHR_OK);
    EXPECT_RC(ehr_proof_verify_many(many, 0, codes), EHR_ZERO_LENGTH);
    EXPECT_RC(ehr_proof_verify_many(many, 3, NULL), EHR_NULL_ARGUMENT);
    ehr_proof_free(bad);
    bad = NULL;
    EXPECT_RC(ehr_proof_from_bytes((const uint8_t *)"garbage", 7, &bad), EHR_PROOF_MALFORMED);
    EXPECT_RC(ehr_proof_from_text(LIT("EHRP:%%%"), &bad), EHR_PROOF_MALFORMED);
    EXPECT_RC(ehr_proof_from_json(LIT("{}"), &bad), EHR_PROOF_MALFORMED);
    EXPECT(bad == NULL);
    ehr_proof *other = NULL;
    OK(ehr_batch_proof(batch, 3, &other));
    OK(ehr_proof_verify(other));
    EXPECT_RC(ehr_batch_proof(batch, 4, &other), EHR_BATCH_NO_SUCH_RECORD);

    ehr_proof_free(other);
    ehr_proof_free(from_json);
    ehr_proof_free(decoded);
    ehr_proof_free(scanned);
    ehr_proof_free(proof);
    for (int i = 0; i < 4; i++) {
        ehr_ack_free(acks[i]);
        ehr_tc_free(tcs[i]);
    }
    ehr_batch_free(batch);
    ehr_batch_builder_free(builder);
    ehr_validator_config_free(vc);
    fixture_free(&f);
}

/* ------------------------------------------- devnet roles, TC accessors */

static void register_on_the_devnet(struct fixture *f);

static void test_devnet_roles_and_tc_accessors(void) {
    struct fixture f = fixture_new(DEVNET, NULL);

    /* A distributor granted its role on chain records a custody step. */
    uint8_t distributor[20];
    OK(ehr_devnet_account(LIT("wholesale-7"), distributor));
    OK(ehr_transport_devnet_grant_role(f.chain, LIT("distributor"), distributor));
    OK(ehr_transport_set_sender(f.chain, LIT("distributor"), distributor));
    EXPECT_RC(ehr_transport_rpc_set_mine_on_head(f.chain, true), EHR_INVALID_ARGUMENT);
    EXPECT_RC(ehr_transport_rpc_set_fees(f.chain, EHR_FEES_EIP1559, 20), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("a JSON-RPC transport");
    EXPECT_RC(ehr_transport_rpc_set_fees(f.chain, 9, 20), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("use EHR_FEES_LEGACY or EHR_FEES_EIP1559");
    {
        uint8_t secret[32] = {0}, account[20];
        EXPECT_RC(ehr_transport_rpc_add_local_key(f.chain, secret, account), EHR_SIGNER_FAILED);
        secret[31] = 1;
        EXPECT_RC(ehr_transport_rpc_add_local_key(f.chain, secret, account), EHR_INVALID_ARGUMENT);
        EXPECT_LAST_ERROR("a JSON-RPC transport");
    }
    /* Setting a registry up is for JSON-RPC nodes: a devnet comes with one. */
    uint8_t deployed[20];
    EXPECT_RC(ehr_transport_rpc_deploy_registry(f.chain, distributor, f.t, deployed),
              EHR_INVALID_ARGUMENT);
    EXPECT_RC(ehr_transport_rpc_grant_role(f.chain, distributor, LIT("nurse"), distributor),
              EHR_INVALID_ARGUMENT);
    uint8_t unknown[32] = {0};
    EXPECT_RC(ehr_transport_rpc_register_template(f.chain, distributor, f.t, unknown),
              EHR_TEMPLATE_UNKNOWN);
    uint8_t template_id[32];
    uint8_t ti_id[32];
    OK(ehr_templates_latest(f.t, LIT("drug-shipment-custody"), template_id));
    OK(ehr_random_id(ti_id));
    ehr_ti *ti = NULL;
    OK(ehr_ti_new(ti_id, template_id, LIT("wholesale-7"), LIT("distributor"), NULL, 0,
                  ehr_clock_now_ms() / 1000, &ti));
    OK(ehr_ti_set_field(ti, LIT("lot"), LIT("\"B2026-117\"")));
    OK(ehr_ti_set_field(ti, LIT("gtin"), LIT("\"04012345678901\"")));
    OK(ehr_ti_set_field(ti, LIT("event"), LIT("\"shipped\"")));
    OK(ehr_ti_set_field(ti, LIT("quantity"), LIT("240")));
    ehr_ack *ack = NULL;
    OK(ehr_handshaker_submit(f.hs, ti, f.chain, 0, NULL, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid);
    ehr_ack_free(ack);
    ehr_ti_free(ti);

    /* TC accessors: destination, calldata, patient pseudonym. */
    ehr_tc *tc = NULL;
    ti = bp_tc(&f, "128", &tc);
    uint8_t to[20];
    uint8_t registry[20];
    uint64_t chain_id = 0;
    uint64_t tc_chain_id = 0;
    OK(ehr_transport_chain(f.chain, &chain_id, registry));
    OK(ehr_tc_destination(tc, to, &tc_chain_id));
    EXPECT(memcmp(to, registry, 20) == 0 && chain_id == tc_chain_id);
    uint8_t calldata[512];
    size_t n = 0;
    OK(ehr_tc_calldata(tc, calldata, sizeof calldata, &n));
    EXPECT(n == 4 + 6 * 32); /* anchorRecord: selector and six words */
    uint8_t patient[32];
    uint8_t pseudonym[32];
    OK(ehr_tc_patient(tc, patient));
    OK(ehr_handshaker_pseudonym(f.hs, LIT("MRN-000123"), pseudonym));
    EXPECT(memcmp(patient, pseudonym, 32) == 0);
    uint8_t tc_ti_id[32];
    uint8_t ti_ti_id[32];
    OK(ehr_tc_ti_id(tc, tc_ti_id));
    OK(ehr_ti_id(ti, ti_ti_id));
    EXPECT(memcmp(tc_ti_id, ti_ti_id, 32) == 0);

    /* The outbox: the TC's JSON form reads back as the same TC; altered, it
     * is refused. */
    size_t json_len = 0;
    EXPECT_RC(ehr_tc_to_json(tc, NULL, 0, &json_len), EHR_BUFFER_TOO_SMALL);
    char *json = malloc(json_len);
    EXPECT(json != NULL);
    OK(ehr_tc_to_json(tc, json, json_len, &json_len));
    ehr_tc *stored = NULL;
    OK(ehr_tc_from_json(json, json_len, &stored));
    uint8_t stored_hash[32];
    uint8_t tc_hash[32];
    OK(ehr_tc_record_hash(stored, stored_hash));
    OK(ehr_tc_record_hash(tc, tc_hash));
    EXPECT(memcmp(stored_hash, tc_hash, 32) == 0);
    ehr_tc_free(stored);
    char *hash_at = strstr(json, "\"recordHash\":\"0x");
    EXPECT(hash_at != NULL);
    if (hash_at != NULL) {
        char *digit = hash_at + strlen("\"recordHash\":\"0x");
        *digit = *digit == '0' ? '1' : '0';
        stored = NULL;
        EXPECT_RC(ehr_tc_from_json(json, json_len, &stored), EHR_TC_INVALID);
        EXPECT(stored == NULL);
    }
    free(json);
    ehr_tc_free(tc);

    /* A deactivated template rejects TIs (in a handshaker made after, or
     * one given the templates again); a handshaker keeps its copy until. */
    OK(ehr_templates_latest(f.t, LIT("blood-pressure"), template_id));
    OK(ehr_templates_deactivate(f.t, template_id));
    ehr_handshaker *later = handshaker(f.t, f.keys, f.chain);
    tc = NULL;
    EXPECT_RC(ehr_handshaker_generate(later, ti, ehr_clock_now_ms(), &tc), EHR_TI_REJECTED);
    char violations[1024];
    OK(ehr_last_violations(violations, sizeof violations, &n));
    EXPECT(strstr(violations, "template_inactive") != NULL);
    ehr_handshaker_free(later);
    OK(ehr_handshaker_generate(f.hs, ti, ehr_clock_now_ms(), &tc));
    ehr_tc_free(tc);
    tc = NULL;
    OK(ehr_handshaker_set_templates(f.hs, f.t));
    EXPECT_RC(ehr_handshaker_generate(f.hs, ti, ehr_clock_now_ms(), &tc), EHR_TI_REJECTED);
    EXPECT(tc == NULL);
    EXPECT_RC(ehr_handshaker_set_templates(f.hs, NULL), EHR_NULL_ARGUMENT);
    /* The listing says so; activated again, it is used again. */
    char list[16384];
    OK(ehr_templates_list(f.t, list, sizeof list, &n));
    EXPECT(n > 0 && list[0] == '[' && strstr(list, "\"active\":false") != NULL);
    EXPECT(strstr(list, "\"name\":\"blood-pressure\"") != NULL);
    OK(ehr_templates_activate(f.t, template_id));
    OK(ehr_templates_list(f.t, list, sizeof list, &n));
    EXPECT(strstr(list, "\"active\":false") == NULL);
    later = handshaker(f.t, f.keys, f.chain);
    OK(ehr_handshaker_generate(later, ti, ehr_clock_now_ms(), &tc));
    ehr_tc_free(tc);
    tc = NULL;
    ehr_handshaker_free(later);
    OK(ehr_handshaker_set_templates(f.hs, f.t));
    OK(ehr_handshaker_generate(f.hs, ti, ehr_clock_now_ms(), &tc));
    ehr_tc_free(tc);
    tc = NULL;
    uint8_t unknown_id[32] = {7};
    EXPECT_RC(ehr_templates_activate(f.t, unknown_id), EHR_TEMPLATE_UNKNOWN);

    /* The anchoring-event helper refuses logs that are not it. */
    ehr_submission sub;
    memset(&sub, 0, sizeof sub);
    memcpy(sub.to, registry, 20);
    sub.kind = EHR_ANCHOR_RECORD;
    uint8_t topics[64];
    memset(topics, 1, sizeof topics);
    bool is_anchoring = true;
    OK(ehr_submission_is_anchoring_event(&sub, registry, topics, 64, NULL, 0, &is_anchoring));
    EXPECT(!is_anchoring);
    EXPECT_RC(ehr_submission_is_anchoring_event(&sub, registry, topics, 33, NULL, 0,
                                                &is_anchoring),
              EHR_INVALID_ARGUMENT);
    sub.kind = 9;
    EXPECT_RC(ehr_submission_is_anchoring_event(&sub, registry, topics, 64, NULL, 0,
                                                &is_anchoring),
              EHR_INVALID_ARGUMENT);

    ehr_ti_free(ti);
    register_on_the_devnet(&f);
    fixture_free(&f);
}

/* A template added after the devnet was made (version 2 of blood pressure)
 * is refused on chain until registered on the same devnet, then anchors. */
static void register_on_the_devnet(struct fixture *f) {
    ehr_templates *t2 = NULL;
    OK(ehr_templates_new_builtin(&t2));
    uint8_t v1[32], v2[32];
    OK(ehr_templates_latest(t2, LIT("blood-pressure"), v1));
    char *json = malloc(64 * 1024);
    size_t n = 0;
    OK(ehr_templates_json(t2, v1, json, 64 * 1024, &n));
    /* A new version: its id is taken from its content again. */
    char *id_member = strstr(json, "\"id\":\"0x");
    EXPECT(id_member != NULL && strstr(id_member, "\",") != NULL);
    const char *after = strstr(id_member, "\",") + 2;
    memmove(id_member, after, strlen(after) + 1);
    n = strlen(json);
    char *version = strstr(json, "\"version\":");
    EXPECT(version != NULL);
    version += strlen("\"version\":");
    while (*version == ' ') {
        version++;
    }
    EXPECT(*version == '1');
    *version = '2';
    OK(ehr_templates_add_json(t2, json, n, v2));
    free(json);
    ehr_handshaker *hs2 = handshaker(t2, f->keys, f->chain);
    char reason[1024];
    for (int registered = 0; registered < 2; registered++) {
        if (registered) {
            OK(ehr_transport_devnet_register_template(f->chain, t2, v2));
        }
        ehr_ti *ti = bp_ti(t2, "131");
        ehr_ack *ack = NULL;
        OK(ehr_handshaker_submit(hs2, ti, f->chain, 0, NULL, &ack));
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        OK(ehr_ack_to_summary(ack, &s));
        EXPECT(s.valid == registered && memcmp(s.template_id, v2, 32) == 0);
        if (!registered) {
            OK(ehr_ack_reason(ack, reason, sizeof reason, &n));
            EXPECT(strstr(reason, "EhrRegistryUnknownTemplate") != NULL);
        }
        ehr_ack_free(ack);
        ehr_ti_free(ti);
    }
    EXPECT_RC(ehr_transport_devnet_register_template(f->chain, t2, v2), EHR_DEVNET);
    EXPECT_LAST_ERROR("EhrRegistryTemplateExists");
    uint8_t unknown[32] = {0};
    EXPECT_RC(ehr_transport_devnet_register_template(f->chain, t2, unknown), EHR_TEMPLATE_UNKNOWN);
    ehr_handshaker_free(hs2);
    ehr_templates_free(t2);
}

/* --------------------------------------------- a transport in C callbacks */

/* Signals the cancel token `arg` after 100 ms (run on another thread). */
static void *cancel_after_100_ms(void *arg) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    OK(ehr_cancel_signal(arg));
    return NULL;
}

/* A one-record chain: remembers the last anchored record, mines at once. */
struct fake_chain {
    uint64_t head;
    uint64_t mined_in;
    int unavailable;
    int wrong_chain;
    int reads;
    int submits;
    int anchored;
    uint8_t ti_id[32];
    uint8_t record_hash[32];
    uint8_t tx_hash[32];
};

static ehr_result fake_submit(void *userdata, const ehr_submission *submission,
                              uint8_t *tx_hash_out) {
    struct fake_chain *c = userdata;
    c->submits++;
    if (c->unavailable) {
        return EHR_TRANSPORT_UNAVAILABLE;
    }
    if (c->wrong_chain) {
        return EHR_TRANSPORT_WRONG_CHAIN;
    }
    if (submission->kind != EHR_ANCHOR_RECORD || submission->calldata_len < 4) {
        return EHR_TRANSPORT_REJECTED;
    }
    memcpy(c->ti_id, submission->id, 32);
    memcpy(c->record_hash, submission->hash, 32);
    memset(c->tx_hash, 0, 32);
    c->tx_hash[0] = (uint8_t)c->submits;
    c->anchored = 1;
    c->mined_in = ++c->head;
    memcpy(tx_hash_out, c->tx_hash, 32);
    return EHR_OK;
}

static ehr_result fake_poll(void *userdata, const uint8_t *tx_hash, const ehr_submission *submission,
                            uint32_t *status_out, ehr_receipt *receipt_out) {
    struct fake_chain *c = userdata;
    (void)submission;
    if (memcmp(tx_hash, c->tx_hash, 32) != 0) {
        *status_out = EHR_POLL_DROPPED;
        return EHR_OK;
    }
    *status_out = EHR_POLL_INCLUDED;
    memcpy(receipt_out->tx_hash, c->tx_hash, 32);
    receipt_out->success = true;
    receipt_out->block_number = c->mined_in;
    memset(receipt_out->block_hash, 0x5A, 32);
    receipt_out->has_anchor_log_index = true;
    receipt_out->anchor_log_index = 0;
    receipt_out->gas_used = 50000;
    return EHR_OK;
}

static ehr_result fake_head(void *userdata, uint64_t *block_number_out) {
    struct fake_chain *c = userdata;
    if (c->unavailable) {
        return EHR_TRANSPORT_UNAVAILABLE;
    }
    *block_number_out = ++c->head;
    return EHR_OK;
}

static ehr_result fake_record_hash_of(void *userdata, const uint8_t *ti_id, bool *found_out,
                                      uint8_t *record_hash_out) {
    struct fake_chain *c = userdata;
    c->reads++;
    if (c->unavailable) {
        return EHR_TRANSPORT_UNAVAILABLE;
    }
    *found_out = c->anchored && memcmp(ti_id, c->ti_id, 32) == 0;
    if (*found_out) {
        memcpy(record_hash_out, c->record_hash, 32);
    }
    return EHR_OK;
}

/* The registry address of every fake chain. */
static const uint8_t FAKE_REGISTRY[20] = {0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE,
                                          0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE,
                                          0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE};

/* The callbacks of a fake chain (no batch read, no read by tag). */
static ehr_transport_callbacks fake_callbacks(struct fake_chain *fake) {
    ehr_transport_callbacks cb = {.struct_size = sizeof cb,
                                  .userdata = fake,
                                  .submit = fake_submit,
                                  .poll = fake_poll,
                                  .head = fake_head,
                                  .record_hash_of = fake_record_hash_of};
    return cb;
}

/* A callback transport on chain 1337 over `fake` (zeroed here). */
static ehr_transport *fake_transport(struct fake_chain *fake) {
    memset(fake, 0, sizeof *fake);
    ehr_transport_callbacks cb = fake_callbacks(fake);
    ehr_transport *chain = NULL;
    OK(ehr_transport_new_callbacks(&cb, 1337, FAKE_REGISTRY, &chain));
    return chain;
}

/* The host's event loop sends `v`'s submission (the next thing it asks) to
 * `fake` and never hands the answer in. */
static void send_and_lose_the_answer(ehr_validator *v, struct fake_chain *fake, uint64_t now_ms) {
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_SUBMIT);
    uint8_t tx_hash[32];
    OK(fake_submit(fake, &a.submission, tx_hash));
}

static void test_callback_transport(void) {
    ehr_templates *t = NULL;
    OK(ehr_templates_new_builtin(&t));
    struct fake_chain fake;
    memset(&fake, 0, sizeof fake);
    ehr_transport_callbacks cb = fake_callbacks(&fake);
    uint8_t registry[20];
    memset(registry, 0xEE, sizeof registry);
    ehr_transport *chain = NULL;
    ehr_transport_callbacks missing = cb;
    missing.poll = NULL;
    EXPECT_RC(ehr_transport_new_callbacks(&missing, 1337, registry, &chain), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`callbacks->poll` is NULL");
    OK(ehr_transport_new_callbacks(&cb, 1337, registry, &chain));
    EXPECT_RC(ehr_transport_set_sender(chain, LIT("nurse"), registry), EHR_INVALID_ARGUMENT);
    ehr_key_store *keys = memory_keys();
    ehr_handshaker *hs = handshaker(t, keys, chain);

    ehr_ti *ti = bp_ti(t, "128");
    ehr_ack *ack = NULL;
    OK(ehr_handshaker_submit(hs, ti, chain, 0, NULL, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid && s.has_tx_hash && s.tx_hash[0] == 1);
    EXPECT(fake.submits == 1);
    ehr_ack_free(ack);
    ehr_ti_free(ti);

    /* A node that cannot be reached: an outage is not a verdict. The call
     * waits it out until its deadline, then returns EHR_STILL_PENDING
     * without an ACK. */
    fake.unavailable = 1;
    ti = bp_ti(t, "129");
    ack = NULL;
    uint64_t started = ehr_clock_now_ms();
    EXPECT_RC(ehr_handshaker_submit(hs, ti, chain, started + 200, NULL, &ack), EHR_STILL_PENDING);
    uint64_t took = ehr_clock_now_ms() - started;
    EXPECT(ack == NULL && took >= 200 && took < 5000);
    EXPECT_LAST_ERROR("the TI is still pending: the deadline passed");
    EXPECT_LAST_ERROR("waiting out an outage");
    EXPECT_LAST_ERROR("EHR_TRANSPORT_UNAVAILABLE");

    /* Or until another thread signals its cancel token. */
    ehr_cancel *cancel = NULL;
    OK(ehr_cancel_new(&cancel));
    pthread_t canceller;
    started = ehr_clock_now_ms();
    EXPECT(pthread_create(&canceller, NULL, cancel_after_100_ms, cancel) == 0);
    EXPECT_RC(ehr_handshaker_submit(hs, ti, chain, 0, cancel, &ack), EHR_STILL_PENDING);
    took = ehr_clock_now_ms() - started;
    EXPECT(pthread_join(canceller, NULL) == 0);
    EXPECT(ack == NULL && took >= 100 && took < 5000);
    EXPECT_LAST_ERROR("the TI is still pending: the host cancelled");
    /* A signalled token stops the next call at once, before anything is sent. */
    fake.submits = 0;
    EXPECT_RC(ehr_handshaker_submit(hs, ti, chain, 0, cancel, &ack), EHR_STILL_PENDING);
    EXPECT(fake.submits == 0);
    ehr_cancel_free(cancel);
    ehr_ti_free(ti);

    /* A node on another chain: an inconclusive invalid ACK (rerun the same TC
     * against the right node) at once, without reading the registry (its
     * state says nothing about this chain) or sending again. */
    fake.unavailable = 0;
    fake.wrong_chain = 1;
    fake.submits = 0;
    fake.reads = 0;
    ti = bp_ti(t, "130");
    OK(ehr_handshaker_submit(hs, ti, chain, 0, NULL, &ack));
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(!s.valid && s.may_rerun);
    char reason[1024];
    size_t n = 0;
    OK(ehr_ack_reason(ack, reason, sizeof reason, &n));
    EXPECT(strstr(reason, "for chain 1337 but the node is on another chain") != NULL);
    EXPECT(fake.submits == 1 && fake.reads == 0);
    ehr_ack_free(ack);
    ehr_ti_free(ti);

    ehr_handshaker_free(hs);
    ehr_key_store_free(keys);
    ehr_transport_free(chain);
    ehr_templates_free(t);
}

/* ------------------------------------------- the host's outbox in C */

/* A one-entry outbox in memory, as a host would keep it in a table. */
struct mem_outbox {
    int has, saves, finishes, finish_alls, acks, fail_save;
    uint8_t key[32];
    char entry[16384];
    size_t entry_len;
};

static ehr_result ob_save(void *userdata, const uint8_t *key, const char *entry, size_t len) {
    struct mem_outbox *o = userdata;
    o->saves++;
    if (o->fail_save) {
        return EHR_OUTBOX_UNAVAILABLE; /* the disk is full */
    }
    if (len >= sizeof o->entry) {
        return EHR_BUFFER_TOO_SMALL;
    }
    memcpy(o->key, key, 32);
    memcpy(o->entry, entry, len);
    o->entry_len = len;
    o->has = 1;
    return EHR_OK;
}

static ehr_result ob_load(void *userdata, const uint8_t *key, bool *found_out,
                          const char **entry_out, size_t *entry_len_out) {
    struct mem_outbox *o = userdata;
    *found_out = o->has && memcmp(o->key, key, 32) == 0;
    if (*found_out) {
        *entry_out = o->entry;
        *entry_len_out = o->entry_len;
    }
    return EHR_OK;
}

static ehr_result ob_keys(void *userdata, uint8_t *keys_out, size_t capacity, size_t *count_out) {
    struct mem_outbox *o = userdata;
    *count_out = (size_t)o->has;
    if (o->has && capacity >= 1) {
        memcpy(keys_out, o->key, 32);
    }
    return EHR_OK;
}

static ehr_result ob_finish(void *userdata, const uint8_t *key, const ehr_ack *const *acks,
                            size_t acks_len) {
    struct mem_outbox *o = userdata;
    o->finishes++;
    for (size_t i = 0; i < acks_len; i++) {
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        if (ehr_ack_to_summary(acks[i], &s) == EHR_OK && s.valid) {
            o->acks++;
        }
    }
    if (key != NULL && o->has && memcmp(key, o->key, 32) == 0) {
        o->has = 0;
    }
    return EHR_OK;
}

/* The callbacks of an in-memory outbox (no finish_all). */
static ehr_outbox_callbacks mem_outbox_callbacks(struct mem_outbox *ob) {
    ehr_outbox_callbacks outbox = {.struct_size = sizeof outbox,
                                   .userdata = ob,
                                   .save = ob_save,
                                   .load = ob_load,
                                   .keys = ob_keys,
                                   .finish = ob_finish};
    return outbox;
}

/* A save that only counts (a batch's entry is larger than `entry`). */
static ehr_result ob_count_save(void *userdata, const uint8_t *key, const char *entry, size_t len) {
    (void)key;
    (void)entry;
    (void)len;
    ((struct mem_outbox *)userdata)->saves++;
    return EHR_OK;
}

/* ehr_outbox_callbacks as a header before `finish_all` declared it. */
struct outbox_callbacks_v1 {
    size_t struct_size;
    void *userdata;
    ehr_result (*save)(void *userdata, const uint8_t *key, const char *entry, size_t entry_len);
    ehr_result (*load)(void *userdata, const uint8_t *key, bool *found_out, const char **entry_out,
                       size_t *entry_len_out);
    ehr_result (*keys)(void *userdata, uint8_t *keys_out, size_t capacity, size_t *count_out);
    ehr_result (*finish)(void *userdata, const uint8_t *key, const ehr_ack *const *acks,
                         size_t acks_len);
};

/* finish_all: a round's verdicts in one call (one transaction). */
static ehr_result ob_finish_all(void *userdata, const ehr_verdict *verdicts, size_t verdicts_len) {
    struct mem_outbox *o = userdata;
    o->finish_alls++;
    for (size_t i = 0; i < verdicts_len; i++) {
        EXPECT(verdicts[i].key != NULL);
        OK(ob_finish(userdata, verdicts[i].key, verdicts[i].acks, verdicts[i].acks_len));
    }
    return EHR_OK;
}

static void test_durable_submit_through_the_host_outbox(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    struct mem_outbox ob;
    memset(&ob, 0, sizeof ob);
    ehr_outbox_callbacks outbox = mem_outbox_callbacks(&ob);

    /* Stored before the send; the ACK and the entry's removal in one step. */
    ehr_ti *ti = bp_ti(f.t, "125");
    ehr_ack *ack = NULL;
    OK(ehr_handshaker_submit_durably(f.hs, ti, f.chain, &outbox, 0, NULL, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid && ob.saves == 1 && ob.finishes == 1 && ob.acks == 1 && !ob.has);
    ehr_ack_free(ack);
    ehr_ti_free(ti);

    /* A full disk: nothing is sent, and the call says why. */
    ob.fail_save = 1;
    fake.submits = 0;
    ti = bp_ti(f.t, "126");
    ack = NULL;
    EXPECT_RC(ehr_handshaker_submit_durably(f.hs, ti, f.chain, &outbox, 0, NULL, &ack), EHR_OUTBOX_UNAVAILABLE);
    EXPECT(ack == NULL && fake.submits == 0);
    ehr_ti_free(ti);

    /* A host that crashed right after sending: resume finishes that TC. */
    ob.fail_save = 0;
    size_t resumed = 99;
    OK(ehr_handshaker_resume(f.hs, f.chain, &outbox, 0, NULL, &resumed));
    EXPECT(resumed == 0);
    ehr_tc *tc = NULL;
    ti = bp_tc(&f, "127", &tc);
    ehr_validator *v = NULL;
    OK(ehr_validator_new(tc, NULL, &v));
    uint64_t now_ms = ehr_clock_now_ms();
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_PERSIST);
    uint8_t key[32];
    bool has_key = false;
    OK(ehr_validator_outbox_key(v, &has_key, key));
    char entry[16384];
    size_t n = 0;
    OK(ehr_validator_to_json(v, entry, sizeof entry, &n));
    OK(ob_save(&ob, key, entry, n));
    OK(ehr_validator_handle_persisted(v, now_ms, EHR_OK));
    fake.submits = 0;
    send_and_lose_the_answer(v, &fake, now_ms);
    fake.anchored = 1;
    ehr_validator_free(v);
    OK(ehr_handshaker_resume(f.hs, f.chain, &outbox, 0, NULL, &resumed));
    EXPECT(resumed == 1 && !ob.has && ob.acks == 2 && fake.submits == 1);
    ehr_tc_free(tc);
    ehr_ti_free(ti);

    fixture_free(&f);
}

/* The watcher's next event is `final`, then none: it watches nothing more. */
static void expect_final_then_idle(ehr_watcher *w) {
    char event[32768];
    size_t event_len = 0;
    bool has_event = false;
    OK(ehr_watcher_poll_event(w, event, sizeof event, &event_len, &has_event));
    EXPECT(has_event && strncmp(event, "{\"event\":\"final\"", 16) == 0);
    OK(ehr_watcher_poll_event(w, event, sizeof event, &event_len, &has_event));
    EXPECT(!has_event);
    size_t watched = 99;
    OK(ehr_watcher_len(w, &watched));
    EXPECT(watched == 0);
}

/* A validator the host made itself, run through its outbox: stored before
 * the send, finished with its ACK; then watched. One whose submission the
 * host's event loop handed out (and sent) without handing in the answer is
 * settled first when run: the same TC, anchored once, one ACK. */
static void test_validator_run_durably(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    struct mem_outbox ob;
    memset(&ob, 0, sizeof ob);
    ehr_outbox_callbacks outbox = mem_outbox_callbacks(&ob);
    ehr_watcher *w = NULL;
    OK(ehr_watcher_new(NULL, 0, &w));

    ehr_ti *ti = bp_ti(f.t, "128");
    ehr_validator *v = NULL;
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, ehr_clock_now_ms(), &v));
    EXPECT_RC(ehr_validator_run_durably(v, f.chain, NULL, 0, NULL), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`outbox`");
    EXPECT(fake.submits == 0);
    OK(ehr_validator_run_durably(v, f.chain, &outbox, 0, NULL));
    EXPECT(ob.saves == 1 && ob.finishes == 1 && ob.acks == 1 && !ob.has && fake.submits == 1);
    ehr_ack *ack = NULL;
    OK(ehr_validator_poll_ack(v, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid);
    OK(ehr_watcher_watch(w, v, ack));
    size_t watched = 0;
    OK(ehr_watcher_len(w, &watched));
    EXPECT(watched == 1);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_ti_free(ti);

    /* The event loop sent the TC but lost the answer; the blocking run
     * reads the registry before it sends anything again. */
    ti = bp_ti(f.t, "129");
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, ehr_clock_now_ms(), &v));
    uint64_t now_ms = ehr_clock_now_ms();
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_PERSIST);
    OK(ehr_validator_handle_persisted(v, now_ms, EHR_OK));
    fake.submits = 0;
    send_and_lose_the_answer(v, &fake, now_ms);
    OK(ehr_validator_run_durably(v, f.chain, &outbox, 0, NULL));
    EXPECT(fake.submits == 1 && ob.finishes == 2 && ob.acks == 2 && !ob.has);
    OK(ehr_validator_poll_ack(v, &ack));
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid && memcmp(s.record_hash, fake.record_hash, 32) == 0);
    ehr_ack *extra = NULL;
    OK(ehr_validator_poll_ack(v, &extra));
    EXPECT(extra == NULL);

    /* Watched through the outbox: a reorg takes the anchor away while the
     * disk is full; the run says so and keeps the vanished anchor, and the
     * next run resends the same TC and watches it to final. */
    ehr_watcher *durable = NULL;
    OK(ehr_watcher_new(LIT("{\"depth\": 3, \"pollIntervalMs\": 1}"), &durable));
    OK(ehr_watcher_watch(durable, v, ack));
    fake.anchored = 0;
    memset(fake.tx_hash, 0, 32);
    ob.fail_save = 1;
    size_t resent = 99;
    uint64_t deadline = ehr_clock_now_ms() + 10000;
    EXPECT_RC(ehr_watcher_run_durably(durable, f.chain, &outbox, deadline, NULL, &resent),
              EHR_OUTBOX_UNAVAILABLE);
    EXPECT(resent == 99 && fake.submits == 1);
    ob.fail_save = 0;
    OK(ehr_watcher_run_durably(durable, f.chain, &outbox, deadline, NULL, &resent));
    EXPECT(resent == 1 && fake.submits == 2 && fake.anchored && ob.acks == 3 && !ob.has);
    /* Run again before the events are polled: nothing is acted on twice. */
    OK(ehr_watcher_run_durably(durable, f.chain, &outbox, deadline, NULL, &resent));
    EXPECT(resent == 0 && fake.submits == 2 && ob.acks == 3);
    char event[32768];
    size_t event_len = 0;
    bool has_event = false;
    OK(ehr_watcher_poll_event(durable, event, sizeof event, &event_len, &has_event));
    EXPECT(has_event && strncmp(event, "{\"event\":\"vanished\"", 19) == 0);
    expect_final_then_idle(durable);
    ehr_watcher_free(durable);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_ti_free(ti);

    ehr_watcher_free(w);
    fixture_free(&f);
}

static char *to_hex(char *out, const uint8_t *bytes, size_t n);

/* --------------------------------------------- TIs their author signs */

/* The vendor's HSM in the test: signs with the local key in `key` (as a
 * card would with its own), and remembers what it was shown. */
struct hsm {
    ehr_signer *key;
    int calls, fail;
    char shown[4096];
};

static ehr_result hsm_sign(void *userdata, const uint8_t *digest, const char *typed_data,
                           size_t typed_data_len, uint8_t *signature_out) {
    struct hsm *h = userdata;
    h->calls++;
    if (h->fail) {
        return EHR_KEY_STORE_UNAVAILABLE; /* the card was pulled */
    }
    size_t n = typed_data_len < sizeof h->shown - 1 ? typed_data_len : sizeof h->shown - 1;
    memcpy(h->shown, typed_data, n);
    h->shown[n] = '\0';
    return ehr_signer_sign_digest(h->key, digest, signature_out);
}

/* Submits a signed blood pressure with `systolic` through `signer`; writes
 * its ACK's summary and JSON. */
static void submit_signed(struct fixture *f, ehr_signer *signer, const char *systolic,
                          ehr_ack_summary *s, char *json, size_t json_len) {
    struct mem_outbox ob;
    memset(&ob, 0, sizeof ob);
    ehr_outbox_callbacks outbox = mem_outbox_callbacks(&ob);
    ehr_ti *ti = bp_ti(f->t, systolic);
    ehr_ack *ack = NULL;
    size_t n = 0;
    OK(ehr_handshaker_submit_signed(f->hs, ti, signer, f->chain, &outbox, 0, NULL, &ack));
    OK(ehr_ack_to_summary(ack, s));
    OK(ehr_ack_to_json(ack, json, json_len, &n));
    ehr_ack_free(ack);
    ehr_ti_free(ti);
}

/* Signed TIs through a pipeline (ehr_pipeline_admit): refused while it is
 * full (the validator stays the caller's, at the same address, and the card
 * is not asked again), admitted once there is room, valid, the ACK naming
 * the author. */
static void admit_signed_tis(struct fixture *f, ehr_signer *card, struct hsm *h) {
    uint64_t chain_id = 0;
    uint8_t registry[20], author[20];
    OK(ehr_transport_chain(f->chain, &chain_id, registry));
    OK(ehr_signer_address(card, author));
    ehr_validator_config *quick = quick_validator(1);
    ehr_pipeline *p = NULL;
    OK(ehr_pipeline_new(chain_id, registry, 1, 8, 50, quick, &p));
    uint64_t now = ehr_clock_now_ms();
    ehr_ti *plain = bp_ti(f->t, "136");
    ehr_ti *signed_ti = bp_ti(f->t, "137");
    OK(ehr_handshaker_push(f->hs, p, plain, EHR_PRIORITY_URGENT, now));
    ehr_validator *v = NULL;
    h->calls = 0;
    OK(ehr_handshaker_validator_for(f->hs, signed_ti, card, now, &v));
    ehr_validator *const given = v;
    EXPECT_RC(ehr_pipeline_admit(p, &v), EHR_PIPELINE_BUSY);
    EXPECT(v == given && h->calls == 1);
    EXPECT_RC(ehr_pipeline_admit(p, NULL), EHR_NULL_ARGUMENT);
    ehr_validator *none = NULL;
    EXPECT_RC(ehr_pipeline_admit(p, &none), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`validator` is NULL");
    OK(ehr_pipeline_drain(p, f->chain, NULL, 0, NULL));
    ehr_ack *ack = NULL;
    OK(ehr_pipeline_poll_ack(p, &ack));
    EXPECT(ack != NULL);
    ehr_ack_free(ack);
    OK(ehr_pipeline_admit(p, &v));
    EXPECT(v == NULL);
    OK(ehr_pipeline_drain(p, f->chain, NULL, 0, NULL));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    uint8_t ti_id[32];
    OK(ehr_ti_id(signed_ti, ti_id));
    OK(ehr_pipeline_poll_ack(p, &ack));
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid && s.has_author && memcmp(s.author, author, 20) == 0);
    EXPECT(memcmp(s.ti_id, ti_id, 32) == 0 && h->calls == 1);
    ehr_ack_free(ack);

    /* A validator whose ACK ehr_validator_run took out: poll it first. */
    ehr_ti *refused = refused_ti(f->t, now);
    OK(ehr_handshaker_validator_for(f->hs, refused, NULL, now, &v));
    OK(ehr_validator_run(v, f->chain, 0, NULL));
    EXPECT_RC(ehr_pipeline_admit(p, &v), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("ehr_validator_poll_ack");
    EXPECT(v != NULL);
    ehr_validator_free(v);
    ehr_ti_free(refused);
    ehr_ti_free(signed_ti);
    ehr_ti_free(plain);
    ehr_pipeline_free(p);
    ehr_validator_config_free(quick);
}

/* A TC its author signed, pushed as bulk, is anchored alone, so its
 * signature reaches the chain: the ACK names the author and carries no
 * batch proof; the unsigned TCs beside it go out in one batch. A TC for
 * another registry is refused, nothing kept. */
static void push_signed_as_bulk(struct fixture *f, const ehr_tc *signed_tc,
                                const uint8_t author[20]) {
    uint64_t chain_id = 0;
    uint8_t registry[20];
    OK(ehr_transport_chain(f->chain, &chain_id, registry));
    ehr_validator_config *quick = quick_validator(1);
    ehr_pipeline *p = NULL;
    OK(ehr_pipeline_new(chain_id, registry, 8, 8, 50, quick, &p));
    uint64_t now = ehr_clock_now_ms();
    ehr_tc *plain[2] = {NULL, NULL};
    ehr_ti *tis[2] = {bp_tc(f, "138", &plain[0]), bp_tc(f, "139", &plain[1])};
    OK(ehr_pipeline_push(p, signed_tc, EHR_PRIORITY_BULK, now));
    for (int i = 0; i < 2; i++) {
        OK(ehr_pipeline_push(p, plain[i], EHR_PRIORITY_BULK, now));
    }
    OK(ehr_pipeline_flush(p));
    OK(ehr_pipeline_drain(p, f->chain, NULL, 0, NULL));
    uint8_t signed_id[32];
    OK(ehr_tc_ti_id(signed_tc, signed_id));
    int acks = 0, authored = 0, proven = 0;
    ehr_ack *ack = NULL;
    while (ehr_pipeline_poll_ack(p, &ack) == EHR_OK && ack != NULL) {
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        OK(ehr_ack_to_summary(ack, &s));
        bool is_signed = memcmp(s.ti_id, signed_id, 32) == 0;
        EXPECT(s.valid && s.has_author == is_signed && s.has_proof == !is_signed);
        authored += s.has_author && memcmp(s.author, author, 20) == 0;
        proven += s.has_proof;
        acks++;
        ehr_ack_free(ack);
    }
    EXPECT(acks == 3 && authored == 1 && proven == 2);

    /* A batch validator built by hand refuses the signed TC too, and a TI
     * given twice (two records, two ACKs for one TI). */
    const ehr_tc *mixed[2] = {plain[0], signed_tc};
    const ehr_tc *twice[2] = {plain[0], plain[0]};
    const ehr_tc *const *refused[2] = {mixed, twice};
    const ehr_result codes[2] = {EHR_BATCH_MISMATCH, EHR_BATCH_DUPLICATE_TI};
    const char *messages[2] = {"TC 1 cannot be anchored in this batch: its author signed it",
                               "which an earlier TC of this batch is for"};
    for (int r = 0; r < 2; r++) {
        ehr_batch_builder *builder = NULL;
        OK(ehr_batch_builder_new(&builder));
        for (int i = 0; i < 2; i++) {
            uint8_t record_hash[32];
            uint32_t index = 0;
            OK(ehr_tc_record_hash(refused[r][i], record_hash));
            OK(ehr_batch_builder_push(builder, record_hash, &index));
        }
        ehr_batch *batch = NULL;
        OK(ehr_batch_builder_build(builder, signed_id, &batch));
        ehr_validator *by_hand = NULL;
        EXPECT_RC(ehr_validator_new_batch(batch, refused[r], 2, NULL, &by_hand), codes[r]);
        EXPECT_LAST_ERROR(messages[r]);
        EXPECT(by_hand == NULL);
        ehr_batch_free(batch);
        ehr_batch_builder_free(builder);
    }

    /* The same TC as JSON with another registry: refused, nothing kept. */
    char json[16384];
    size_t n = 0;
    OK(ehr_tc_to_json(plain[0], json, sizeof json, &n));
    char *to = strstr(json, "\"to\":\"0x");
    EXPECT(to != NULL);
    if (to != NULL) {
        to[8] = to[8] == 'a' ? 'b' : 'a';
        ehr_tc *elsewhere = NULL;
        OK(ehr_tc_from_json(json, n, &elsewhere));
        EXPECT_RC(ehr_pipeline_push(p, elsewhere, EHR_PRIORITY_BULK, now),
                  EHR_PIPELINE_WRONG_REGISTRY);
        EXPECT_LAST_ERROR("not this pipeline's");
        bool idle = false;
        OK(ehr_pipeline_is_idle(p, &idle));
        EXPECT(idle);
        ehr_tc_free(elsewhere);
    }
    for (int i = 0; i < 2; i++) {
        ehr_tc_free(plain[i]);
        ehr_ti_free(tis[i]);
    }
    ehr_pipeline_free(p);
    ehr_validator_config_free(quick);
}

static void test_signed_tis(void) {
    static const uint8_t NURSE_KEY[32] = {
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
    static const uint8_t OTHER_KEY[32] = {
        0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
        0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};
    /* The key's account (docs/vectors/authorship.json). */
    static const uint8_t NURSE[20] = {0x19, 0xe7, 0xe3, 0x76, 0xe7, 0xc2, 0x13, 0xb7, 0xe7, 0xe7,
                                       0xe4, 0x6c, 0xc7, 0x0a, 0x5d, 0xd0, 0x86, 0xda, 0xff, 0x2a};
    struct fixture f = fixture_new(DEVNET, NULL);
    ehr_signer *nurse = NULL, *other = NULL, *card = NULL;
    OK(ehr_signer_new_local(NURSE_KEY, &nurse));
    OK(ehr_signer_new_local(OTHER_KEY, &other));
    uint8_t author[20];
    OK(ehr_signer_address(nurse, author));
    EXPECT(memcmp(author, NURSE, 20) == 0);
    uint8_t gateway[20];
    OK(ehr_devnet_account(LIT("handshaker"), gateway));
    OK(ehr_transport_devnet_grant_role(f.chain, LIT("nurse"), author));
    OK(ehr_transport_devnet_grant_role(f.chain, LIT("relayer"), gateway));

    /* The nurse's card signs; the gateway relays; the ACK names the nurse. */
    struct hsm h;
    memset(&h, 0, sizeof h);
    h.key = nurse;
    ehr_signer_callbacks cb = EHR_SIGNER_CALLBACKS_INIT;
    cb.userdata = &h;
    memcpy(cb.author, author, 20);
    cb.sign = hsm_sign;
    OK(ehr_signer_new_callbacks(&cb, false, &card));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    char json[16384];
    submit_signed(&f, card, "131", &s, json, sizeof json);
    EXPECT(s.valid && s.has_author && memcmp(s.author, NURSE, 20) == 0);
    EXPECT(h.calls == 1 && strstr(h.shown, "\"primaryType\":\"RecordStatement\"") != NULL);
    EXPECT(strstr(json, "\"author\":\"0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a\"") != NULL);

    /* The card pulled: an invalid ACK, EHR_SIGNER_FAILED, nothing sent. */
    h.fail = 1;
    submit_signed(&f, card, "132", &s, json, sizeof json);
    EXPECT(!s.valid && !s.has_author && !s.may_rerun);
    EXPECT(strstr(json, "\"code\":\"EHR_SIGNER_FAILED\"") != NULL);
    EXPECT(strstr(json, "the host's sign callback returned EHR_KEY_STORE_UNAVAILABLE") != NULL);

    /* Another key behind the nurse's name: refused before sending. */
    h.fail = 0;
    h.key = other;
    submit_signed(&f, card, "133", &s, json, sizeof json);
    EXPECT(!s.valid && s.has_author && memcmp(s.author, NURSE, 20) == 0);
    EXPECT(strstr(json, "\"code\":\"EHR_SIGNATURE_WRONG_SIGNER\"") != NULL);
    EXPECT(strstr(json, "\"txHashes\":[]") != NULL);

    /* Declared a smart account (ERC-1271): only the registry can check its
     * signatures, so the same wrong key is sent and refused on chain. */
    ehr_signer *account = NULL;
    OK(ehr_signer_new_callbacks(&cb, true, &account));
    submit_signed(&f, account, "135", &s, json, sizeof json);
    EXPECT(!s.valid && s.has_author && memcmp(s.author, NURSE, 20) == 0);
    EXPECT(strstr(json, "\"error\":\"EhrRegistryBadSignature\"") != NULL);
    EXPECT(strstr(json, "\"txHashes\":[]") == NULL);
    ehr_signer_free(account);

    /* The two steps, for a signer that answers later. */
    ehr_tc *tc = NULL, *signed_tc = NULL, *back = NULL;
    ehr_ti *ti = bp_tc(&f, "134", &tc);
    uint8_t digest[32], signature[65];
    size_t n = 0;
    OK(ehr_tc_signing_digest(tc, author, digest));
    OK(ehr_tc_typed_data(tc, author, json, sizeof json, &n));
    EXPECT(strstr(json, "\"author\":\"0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a\"") != NULL);
    OK(ehr_signer_sign_digest(other, digest, signature));
    EXPECT_RC(ehr_tc_attach_signature(tc, author, signature, 65, &signed_tc),
              EHR_SIGNATURE_WRONG_SIGNER);
    EXPECT_RC(ehr_tc_attach_signature(tc, author, signature, 64, &signed_tc),
              EHR_SIGNATURE_MALFORMED);
    EXPECT_LAST_ERROR("is 64 bytes");
    EXPECT(signed_tc == NULL);
    /* Step two as a validator, for a host that drives validators: another
     * key's signature, or none, is an invalid ACK and nothing is sent; a
     * smart account's signature is the registry's to check, refused on
     * chain when it is not the account's. */
    for (int kind = 0; kind < 3; kind++) {
        ehr_validator *v = NULL;
        ehr_ack_summary vs = EHR_ACK_SUMMARY_INIT;
        OK(ehr_tc_validator_signed(tc, author, kind == 2, kind == 1 ? NULL : signature, 65, NULL,
                                   &v));
        bool done = false;
        OK(ehr_validator_is_finished(v, &done));
        EXPECT(done == (kind < 2));
        ehr_ack *refused = run_to_ack(v, f.chain, &vs);
        OK(ehr_ack_to_json(refused, json, sizeof json, &n));
        /* Signed (rightly or not), the ACK names the author; unsigned, not. */
        EXPECT(!vs.valid && vs.has_author == (kind != 1));
        EXPECT(kind == 1 || memcmp(vs.author, NURSE, 20) == 0);
        EXPECT(strstr(json, kind == 0   ? "\"code\":\"EHR_SIGNATURE_WRONG_SIGNER\""
                            : kind == 1 ? "\"code\":\"EHR_SIGNER_FAILED\""
                                        : "\"error\":\"EhrRegistryBadSignature\"") != NULL);
        EXPECT((strstr(json, "\"txHashes\":[]") != NULL) == (kind < 2));
        ehr_ack_free(refused);
        ehr_validator_free(v);
    }
    OK(ehr_signer_sign_digest(nurse, digest, signature));
    OK(ehr_tc_attach_signature(tc, author, signature, 65, &signed_tc));
    OK(ehr_tc_to_json(signed_tc, json, sizeof json, &n));
    OK(ehr_tc_from_json(json, n, &back));
    /* What the author signed, read back from the stored TC: the statement
     * of this TI by the nurse, and the signature attached. */
    EXPECT_RC(ehr_tc_authorship(tc, json, sizeof json, &n), EHR_NOT_PRESENT);
    EXPECT_LAST_ERROR("the TC is not signed by its author");
    EXPECT_RC(ehr_tc_authorship(back, json, 16, &n), EHR_BUFFER_TOO_SMALL);
    OK(ehr_tc_authorship(back, json, sizeof json, &n));
    EXPECT(n == strlen(json) && strncmp(json, "{\"statement\":{", 14) == 0);
    EXPECT(strstr(json, "\"author\":\"0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a\"") != NULL);
    uint8_t signed_ti_id[32];
    char hex[2 + 2 * 65 + 1], field[200];
    OK(ehr_tc_ti_id(back, signed_ti_id));
    snprintf(field, sizeof field, "\"tiId\":\"%s\"", to_hex(hex, signed_ti_id, 32));
    EXPECT(strstr(json, field) != NULL);
    snprintf(field, sizeof field, "\"signature\":\"%s\"", to_hex(hex, signature, 65));
    EXPECT(strstr(json, field) != NULL);
    EXPECT_RC(ehr_tc_signing_digest(back, author, digest), EHR_STATEMENT_MISMATCH);
    EXPECT_RC(ehr_signer_sign_digest(card, digest, signature), EHR_INVALID_ARGUMENT);
    h.key = nurse;
    admit_signed_tis(&f, card, &h);
    push_signed_as_bulk(&f, signed_tc, author);
    ehr_tc_free(back);
    ehr_tc_free(signed_tc);
    ehr_tc_free(tc);
    ehr_ti_free(ti);
    ehr_signer_free(card);
    ehr_signer_free(other);
    ehr_signer_free(nurse);
    fixture_free(&f);
}

/* ------------------------------------- the validator in the host's loop */

/* The host's write-ahead outbox: the last entry a validator asked to store. */
static char outbox_entry[16384];

/* Stores `v`'s outbox entry, as EHR_TRANSMIT_PERSIST asks. */
static void persist(ehr_validator *v, uint64_t now_ms) {
    size_t n = 0;
    OK(ehr_validator_to_json(v, outbox_entry, sizeof outbox_entry, &n));
    EXPECT(n == strlen(outbox_entry) && strstr(outbox_entry, "\"ehrchain.validator/2\"") != NULL);
    OK(ehr_validator_handle_persisted(v, now_ms, EHR_OK));
}

/* Performs the chain action `a` of `v` on the fake chain at `now_ms` and
 * hands its result to `v`; false for an action that is no chain action. */
static bool perform_on_fake(ehr_validator *v, struct fake_chain *fake, uint64_t now_ms,
                            const ehr_transmit *a) {
    switch (a->kind) {
    case EHR_TRANSMIT_SUBMIT: {
        EXPECT(a->submission.kind == EHR_ANCHOR_RECORD && a->submission.calldata_len > 4);
        uint8_t tx_hash[32];
        ehr_result rc = fake_submit(fake, &a->submission, tx_hash);
        OK(ehr_validator_handle_submitted(v, now_ms, rc, rc == EHR_OK ? tx_hash : NULL));
        return true;
    }
    case EHR_TRANSMIT_POLL: {
        uint32_t status = 0;
        ehr_receipt receipt = EHR_RECEIPT_INIT;
        ehr_result rc = fake_poll(fake, a->tx_hash, &a->submission, &status, &receipt);
        if (rc == EHR_OK && status == EHR_POLL_INCLUDED) {
            receipt.struct_size = 0; /* a receipt not initialised: refused */
            EXPECT_RC(ehr_validator_handle_receipt(v, now_ms, rc, status, &receipt),
                      EHR_INVALID_ARGUMENT);
            EXPECT_LAST_ERROR("`receipt->struct_size` is 0, but an ehr_receipt is at least");
            receipt.struct_size = sizeof receipt;
        }
        OK(ehr_validator_handle_receipt(v, now_ms, rc, status, &receipt));
        return true;
    }
    case EHR_TRANSMIT_READ_HEAD: {
        uint64_t head = 0;
        ehr_result rc = fake_head(fake, &head);
        OK(ehr_validator_handle_head(v, now_ms, rc, head));
        return true;
    }
    case EHR_TRANSMIT_READ_RECORD: {
        bool found = false;
        uint8_t record_hash[32];
        ehr_result rc = fake_record_hash_of(fake, a->ti_id, &found, record_hash);
        OK(ehr_validator_handle_record(v, now_ms, rc, found, record_hash));
        return true;
    }
    default:
        return false;
    }
}

/* Drives `v` in the host's own event loop against the fake chain, on a
 * virtual clock: actions out, results in, time advanced to each deadline,
 * for at most `steps` steps. Returns the number of actions once `v` is
 * finished, or -1. */
static int drive_steps(ehr_validator *v, struct fake_chain *fake, uint64_t *now_ms, int steps) {
    int actions = 0;
    for (int step = 0; step < steps; step++) {
        bool finished = false;
        OK(ehr_validator_is_finished(v, &finished));
        if (finished) {
            return actions;
        }
        OK(ehr_validator_handle_timeout(v, *now_ms));
        ehr_transmit a;
        memset(&a, 0xCD, sizeof a); /* every field is written */
        a.struct_size = sizeof a;
        OK(ehr_validator_poll_transmit(v, *now_ms, &a));
        if (a.kind == EHR_TRANSMIT_NONE) {
            bool has_deadline = false;
            uint64_t deadline = 0;
            OK(ehr_validator_poll_timeout(v, &has_deadline, &deadline));
            EXPECT(has_deadline);
            *now_ms = deadline > *now_ms ? deadline : *now_ms + 1;
            continue;
        }
        actions++;
        if (a.kind == EHR_TRANSMIT_PERSIST) {
            persist(v, *now_ms);
        } else if (!perform_on_fake(v, fake, *now_ms, &a)) {
            EXPECT(a.kind == EHR_TRANSMIT_NONE);
            return -1;
        }
    }
    return -1;
}

/* Steps `run` of `v` on the fake chain on a virtual clock, storing every
 * entry it asks for in `outbox_entry`, until it asks to finish or ends:
 * that step. Counts the saves in `*saves`. */
static ehr_durable_step run_until_stored(ehr_durable_run *run, ehr_validator *v,
                                         struct fake_chain *fake, uint64_t *now_ms, int *saves) {
    for (int i = 0; i < 10000; i++) {
        ehr_durable_step step;
        memset(&step, 0xCD, sizeof step); /* every field is written */
        step.struct_size = sizeof step;
        ehr_transmit a = EHR_TRANSMIT_INIT;
        OK(ehr_durable_run_poll(run, v, *now_ms, false, &step, &a));
        EXPECT(step.kind == EHR_DURABLE_PERFORM || a.kind == EHR_TRANSMIT_NONE);
        if (step.kind == EHR_DURABLE_PERFORM) {
            /* Nothing is sent before the entry is stored. */
            EXPECT(a.kind != EHR_TRANSMIT_SUBMIT || *saves > 0);
            EXPECT(step.until_ms == 0 && step.ack_count == 0 && !step.has_key);
            EXPECT(perform_on_fake(v, fake, *now_ms, &a));
        } else if (step.kind == EHR_DURABLE_SAVE) {
            size_t n = 0;
            OK(ehr_durable_run_entry(run, outbox_entry, sizeof outbox_entry, &n));
            EXPECT(step.has_key && strstr(outbox_entry, "\"ehrchain.validator/2\"") != NULL);
            (*saves)++;
            OK(ehr_durable_run_handle_stored(run, v, *now_ms, EHR_OK));
        } else if (step.kind == EHR_DURABLE_WAIT) {
            *now_ms = step.until_ms > *now_ms ? step.until_ms : *now_ms + 1;
        } else {
            return step;
        }
    }
    ehr_durable_step none = EHR_DURABLE_STEP_INIT;
    return none;
}

/* A host with its own event loop follows the core's durable run: the entry
 * is stored before the submission, a poll while an action is out awaits
 * it, the ACK leaves the validator only once stored (a failed store keeps
 * it for the next run), and a deadline stops the run with the entry
 * stored. */
static void test_durable_run_steps(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    uint64_t now_ms = ehr_clock_now_ms();
    ehr_ti *ti = bp_ti(f.t, "126");
    uint8_t ti_id[32];
    OK(ehr_ti_id(ti, ti_id));
    ehr_validator *v = NULL;
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, now_ms, &v));
    ehr_durable_run *run = NULL;
    OK(ehr_durable_run_new(0, true, &run));
    ehr_durable_step step = EHR_DURABLE_STEP_INIT;
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_durable_run_poll(run, v, now_ms, false, &step, &a));
    EXPECT(step.kind == EHR_DURABLE_SAVE);
    OK(ehr_durable_run_handle_stored(run, v, now_ms, EHR_OK));
    OK(ehr_durable_run_poll(run, v, now_ms, false, &step, &a));
    EXPECT(step.kind == EHR_DURABLE_PERFORM && a.kind == EHR_TRANSMIT_SUBMIT);
    /* The loop wakes up before the submission's answer: nothing to do. */
    ehr_transmit none = EHR_TRANSMIT_INIT;
    OK(ehr_durable_run_poll(run, v, now_ms, false, &step, &none));
    EXPECT(step.kind == EHR_DURABLE_AWAITING && none.kind == EHR_TRANSMIT_NONE);
    EXPECT(perform_on_fake(v, &fake, now_ms, &a));
    int saves = 1;
    step = run_until_stored(run, v, &fake, &now_ms, &saves);
    EXPECT(step.kind == EHR_DURABLE_FINISH && step.ack_count == 1 && saves == 1);
    EXPECT(step.has_key && memcmp(step.key, ti_id, 32) == 0 && fake.submits == 1);
    ehr_ack *ack = NULL;
    EXPECT_RC(ehr_durable_run_ack(run, 1, &ack), EHR_INVALID_ARGUMENT);
    OK(ehr_durable_run_ack(run, 0, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid && memcmp(s.ti_id, ti_id, 32) == 0);
    ehr_ack_free(ack);
    /* The store fails: the run ends, the ACK stays in the validator. */
    EXPECT_RC(ehr_durable_run_handle_stored(run, v, now_ms, EHR_OUTBOX_UNAVAILABLE),
              EHR_OUTBOX_UNAVAILABLE);
    ehr_durable_run_free(run);
    /* The next run stores it again, then hands it out, once. */
    OK(ehr_durable_run_new(0, true, &run));
    step = run_until_stored(run, v, &fake, &now_ms, &saves);
    EXPECT(step.kind == EHR_DURABLE_FINISH && step.ack_count == 1 && fake.submits == 1);
    OK(ehr_durable_run_handle_stored(run, v, now_ms, EHR_OK));
    step = run_until_stored(run, v, &fake, &now_ms, &saves);
    EXPECT(step.kind == EHR_DURABLE_ACKED && step.ack_count == 1);
    step = run_until_stored(run, v, &fake, &now_ms, &saves);
    EXPECT(step.kind == EHR_DURABLE_ACKED && step.ack_count == 0);
    ehr_durable_run_free(run);
    ehr_validator_free(v);
    ehr_ti_free(ti);

    /* A deadline already past: the entry is stored as it stands, then the
     * run stops (no persist's save: the next step is no submission);
     * nothing was sent. */
    ti = bp_ti(f.t, "125");
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, now_ms, &v));
    OK(ehr_durable_run_new(now_ms, true, &run));
    OK(ehr_durable_run_poll(run, v, now_ms, false, &step, &a));
    EXPECT(step.kind == EHR_DURABLE_SAVE && step.has_key);
    OK(ehr_durable_run_handle_stored(run, v, now_ms, EHR_OK));
    OK(ehr_durable_run_poll(run, v, now_ms, false, &step, &a));
    EXPECT(step.kind == EHR_DURABLE_PENDING && step.stop_cause == EHR_STOP_DEADLINE);
    EXPECT(fake.submits == 1);
    EXPECT_RC(ehr_durable_run_poll(run, NULL, now_ms, false, &step, &a), EHR_NULL_ARGUMENT);
    ehr_durable_run_free(run);
    ehr_validator_free(v);
    ehr_ti_free(ti);
    fixture_free(&f);
}

/* Performs the watcher's read `a` on the fake chain at `now_ms` and hands
 * its result to `w`. */
static void perform_watch_read(ehr_watcher *w, struct fake_chain *fake, uint64_t now_ms,
                               const ehr_transmit *a) {
    switch (a->kind) {
    case EHR_TRANSMIT_READ_HEAD: {
        uint64_t head = 0;
        ehr_result rc = fake_head(fake, &head);
        OK(ehr_watcher_handle_head(w, now_ms, rc, head));
        break;
    }
    case EHR_TRANSMIT_POLL: {
        uint32_t status = 0;
        ehr_receipt receipt = EHR_RECEIPT_INIT;
        ehr_result rc = fake_poll(fake, a->tx_hash, &a->submission, &status, &receipt);
        OK(ehr_watcher_handle_receipt(w, now_ms, rc, status, &receipt));
        break;
    }
    case EHR_TRANSMIT_READ_RECORD: {
        bool found = false;
        uint8_t record_hash[32];
        ehr_result rc = fake_record_hash_of(fake, a->ti_id, &found, record_hash);
        OK(ehr_watcher_handle_record(w, now_ms, rc, found, record_hash));
        break;
    }
    default:
        EXPECT(a->kind == EHR_TRANSMIT_READ_HEAD); /* no other read is asked here */
    }
}

/* Steps the watch `run` of `w` on the fake chain on a virtual clock,
 * performing its reads and waits, until it asks for something else: that
 * step (its read checked to be none). */
static ehr_watch_step watch_run_until(ehr_watch_run *run, ehr_watcher *w, struct fake_chain *fake,
                                  uint64_t *now_ms) {
    for (int i = 0; i < 10000; i++) {
        ehr_watch_step step;
        memset(&step, 0xCD, sizeof step); /* every field is written */
        step.struct_size = sizeof step;
        ehr_transmit a = EHR_TRANSMIT_INIT;
        OK(ehr_watch_run_poll(run, w, *now_ms, false, &step, &a));
        EXPECT(step.kind == EHR_WATCH_PERFORM || a.kind == EHR_TRANSMIT_NONE);
        if (step.kind == EHR_WATCH_PERFORM) {
            EXPECT(step.until_ms == 0 && step.ack_count == 0 && step.key[0] == 0);
            perform_watch_read(w, fake, *now_ms, &a);
        } else if (step.kind == EHR_WATCH_WAIT) {
            EXPECT(step.ack_count == 0);
            *now_ms = step.until_ms > *now_ms ? step.until_ms : *now_ms + 1;
        } else {
            return step;
        }
    }
    ehr_watch_step none = EHR_WATCH_STEP_INIT;
    return none;
}

/* Resends the entry of the watch `run`'s EHR_WATCH_RESEND as an event-loop
 * host would: its validator from the entry, run with an ehr_durable_run on
 * the fake chain (its verdict stored in `ob`), then handed back with its
 * ACKs. */
static void resend_with_a_durable_run(ehr_watch_run *run, ehr_watcher *w, struct fake_chain *fake,
                                      struct mem_outbox *ob, uint64_t *now_ms) {
    static char entry[16384];
    size_t n = 0;
    OK(ehr_watch_run_entry(run, entry, sizeof entry, &n));
    ehr_validator *again = NULL;
    OK(ehr_validator_from_json(entry, n, &again));
    ehr_durable_run *durable = NULL;
    OK(ehr_durable_run_new(0, true, &durable));
    int saves = 1; /* the watch run's EHR_WATCH_SAVE stored the entry */
    ehr_durable_step step = run_until_stored(durable, again, fake, now_ms, &saves);
    EXPECT(step.kind == EHR_DURABLE_FINISH && step.ack_count == 1 && step.has_key);
    ehr_ack *acks[1] = {NULL};
    OK(ehr_durable_run_ack(durable, 0, &acks[0]));
    OK(ob_finish(ob, step.key, (const ehr_ack *const *)acks, 1));
    OK(ehr_durable_run_handle_stored(durable, again, *now_ms, EHR_OK));
    step = run_until_stored(durable, again, fake, now_ms, &saves);
    EXPECT(step.kind == EHR_DURABLE_ACKED && step.ack_count == 1);
    OK(ehr_watch_run_handle_resent(run, w, again, true, (const ehr_ack *const *)acks, 1));
    ehr_ack_free(acks[0]);
    ehr_durable_run_free(durable);
    ehr_validator_free(again);
}

/* A host with its own event loop follows the core's watch run: it performs
 * the watcher's reads; a reorg takes the anchor away; the entry is stored
 * before the same TC is sent again (a failed store ends the run and keeps
 * the event for the next); the resend runs as a durable run, its valid ACK
 * (the same record hash, a new transaction) is handed out with the
 * vanished event and watched in turn, to final; then the run is done. A
 * cancelled run, or one past its deadline, is done at once; without
 * resending, the events stay in the watcher. */
static void test_watch_run_steps(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    struct mem_outbox ob;
    memset(&ob, 0, sizeof ob);
    ehr_outbox_callbacks outbox = mem_outbox_callbacks(&ob);
    ehr_ti *ti = bp_ti(f.t, "134");
    uint8_t ti_id[32];
    OK(ehr_ti_id(ti, ti_id));
    ehr_validator *v = NULL;
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, ehr_clock_now_ms(), &v));
    OK(ehr_validator_run_durably(v, f.chain, &outbox, 0, NULL));
    ehr_ack_summary first = EHR_ACK_SUMMARY_INIT;
    ehr_ack *ack = next_ack(v, &first);
    EXPECT(first.valid && first.tx_hash[0] == 1 && fake.submits == 1);
    ehr_watcher *w = NULL;
    OK(ehr_watcher_new(LIT("{\"depth\": 3, \"pollIntervalMs\": 1}"), &w));
    OK(ehr_watcher_watch(w, v, ack));
    uint64_t now_ms = ehr_clock_now_ms();

    ehr_watch_run *run = NULL;
    EXPECT_RC(ehr_watch_run_new(0, true, NULL), EHR_NULL_ARGUMENT);
    OK(ehr_watch_run_new(0, true, &run));
    ehr_watch_step step = EHR_WATCH_STEP_INIT;
    ehr_transmit a = EHR_TRANSMIT_INIT;
    char text[32768];
    size_t n = 0;
    EXPECT_RC(ehr_watch_run_event(run, text, sizeof text, &n), EHR_NOT_PRESENT);
    /* The first read; the loop wakes up before its answer: nothing to do. */
    OK(ehr_watch_run_poll(run, w, now_ms, false, &step, &a));
    EXPECT(step.kind == EHR_WATCH_PERFORM && a.kind == EHR_TRANSMIT_READ_HEAD);
    ehr_transmit none = EHR_TRANSMIT_INIT;
    OK(ehr_watch_run_poll(run, w, now_ms, false, &step, &none));
    EXPECT(step.kind == EHR_WATCH_AWAITING && none.kind == EHR_TRANSMIT_NONE);
    EXPECT_RC(ehr_watch_run_poll(run, NULL, now_ms, false, &step, &a), EHR_NULL_ARGUMENT);
    step.struct_size = 0;
    EXPECT_RC(ehr_watch_run_poll(run, w, now_ms, false, &step, &a), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("`step_out->struct_size` is 0");
    step.struct_size = sizeof step;
    perform_watch_read(w, &fake, now_ms, &a);

    /* Reorged away: the transaction is gone, the registry holds nothing. */
    fake.anchored = 0;
    memset(fake.tx_hash, 0, 32);
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_SAVE && memcmp(step.key, ti_id, 32) == 0);
    EXPECT(step.until_ms == 0 && step.ack_count == 0 && fake.submits == 1);
    OK(ehr_watch_run_entry(run, text, sizeof text, &n));
    EXPECT(n == strlen(text) && strstr(text, "\"ehrchain.validator/2\"") != NULL);
    /* The disk is full: the run ends there, nothing is sent, and the
     * vanished anchor stays in the watcher for the next run. */
    EXPECT_RC(ehr_watch_run_handle_stored(run, EHR_OUTBOX_UNAVAILABLE), EHR_OUTBOX_UNAVAILABLE);
    ehr_watch_run_free(run);
    EXPECT(fake.submits == 1);
    OK(ehr_watch_run_new(0, true, &run));
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_SAVE && memcmp(step.key, ti_id, 32) == 0);
    /* Not stored yet: asked again. */
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_SAVE);
    OK(ehr_watch_run_entry(run, text, sizeof text, &n));
    OK(ob_save(&ob, step.key, text, n));
    OK(ehr_watch_run_handle_stored(run, EHR_OK));
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_RESEND && ob.has && fake.submits == 1);
    /* The event leaves the watcher only once acted on: still in its state. */
    OK(ehr_watcher_to_json(w, text, sizeof text, &n));
    EXPECT(strstr(text, "\"event\":\"vanished\"") != NULL);
    bool has_event = true;
    resend_with_a_durable_run(run, w, &fake, &ob, &now_ms);
    EXPECT(fake.submits == 2 && !ob.has && ob.acks == 2);
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_EVENT && step.ack_count == 1);
    OK(ehr_watch_run_event(run, text, sizeof text, &n));
    EXPECT(n == strlen(text) && strncmp(text, "{\"event\":\"vanished\"", 19) == 0);
    ehr_ack *resent = NULL;
    EXPECT_RC(ehr_watch_run_ack(run, 1, &resent), EHR_INVALID_ARGUMENT);
    EXPECT(resent == NULL);
    OK(ehr_watch_run_ack(run, 0, &resent));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(resent, &s));
    EXPECT(s.valid && memcmp(s.ti_id, ti_id, 32) == 0 && s.tx_hash[0] == 2);
    EXPECT(memcmp(s.record_hash, first.record_hash, 32) == 0);
    ehr_ack_free(resent);
    size_t watched = 0;
    OK(ehr_watcher_len(w, &watched));
    EXPECT(watched == 1); /* the new anchor */

    /* Watched to final: its event has no resent ACK; then nothing is left. */
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_EVENT && step.ack_count == 0);
    OK(ehr_watch_run_event(run, text, sizeof text, &n));
    EXPECT(strncmp(text, "{\"event\":\"final\"", 16) == 0);
    EXPECT(strstr(text, "\"head\":") != NULL);
    EXPECT_RC(ehr_watch_run_ack(run, 0, &resent), EHR_INVALID_ARGUMENT);
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_DONE && fake.submits == 2);
    OK(ehr_watcher_to_json(w, text, sizeof text, &n));
    EXPECT(strstr(text, "\"event\":\"vanished\"") == NULL);
    OK(ehr_watcher_len(w, &watched));
    OK(ehr_watcher_poll_event(w, text, sizeof text, &n, &has_event));
    EXPECT(watched == 0 && !has_event);
    ehr_watch_run_free(run);

    /* Cancelled: done at once, nothing read. Without resending, a vanished
     * anchor's event stays in the watcher and nothing is stored. */
    OK(ehr_watcher_watch(w, v, ack));
    fake.anchored = 0;
    memset(fake.tx_hash, 0, 32);
    int reads = fake.reads;
    uint64_t head = fake.head;
    OK(ehr_watch_run_new(0, false, &run));
    OK(ehr_watch_run_poll(run, w, now_ms, true, &step, &a));
    EXPECT(step.kind == EHR_WATCH_DONE && a.kind == EHR_TRANSMIT_NONE);
    EXPECT(fake.reads == reads && fake.head == head);
    ehr_watch_run_free(run);
    /* Its deadline passed: done at once as well. */
    OK(ehr_watch_run_new(now_ms, false, &run));
    OK(ehr_watch_run_poll(run, w, now_ms, false, &step, &a));
    EXPECT(step.kind == EHR_WATCH_DONE && a.kind == EHR_TRANSMIT_NONE);
    EXPECT(fake.reads == reads && fake.head == head);
    ehr_watch_run_free(run);
    OK(ehr_watch_run_new(0, false, &run));
    int saves = ob.saves;
    step = watch_run_until(run, w, &fake, &now_ms);
    EXPECT(step.kind == EHR_WATCH_DONE && ob.saves == saves && fake.submits == 2);
    OK(ehr_watcher_poll_event(w, text, sizeof text, &n, &has_event));
    EXPECT(has_event && strncmp(text, "{\"event\":\"vanished\"", 19) == 0);
    ehr_watch_run_free(run);
    ehr_watch_run_free(NULL);

    ehr_ack_free(ack);
    ehr_watcher_free(w);
    ehr_validator_free(v);
    ehr_ti_free(ti);
    fixture_free(&f);
}

/* Drives `v` to its verdict (see `drive_steps`). */
static int drive(ehr_validator *v, struct fake_chain *fake, uint64_t *now_ms) {
    return drive_steps(v, fake, now_ms, 10000);
}

/* Validators made from TIs for the host's own loop: a valid TI anchors; a TI
 * its template refuses, or one whose author's signer fails, is a finished
 * validator with one invalid ACK for the audit, and nothing is sent. */
static void test_validators_for_tis(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    uint64_t now_ms = ehr_clock_now_ms();
    ehr_validator *v = NULL;
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    uint8_t ti_id[32];

    ehr_ti *ti = bp_ti(f.t, "127");
    OK(ehr_ti_id(ti, ti_id));
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, now_ms, &v));
    EXPECT(drive(v, &fake, &now_ms) >= 2);
    ehr_ack *ack = next_ack(v, &s);
    EXPECT(s.valid && memcmp(s.ti_id, ti_id, 32) == 0 && fake.submits == 1);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_ti_free(ti);

    /* A pathologist may not record blood pressure. */
    ti = refused_ti(f.t, now_ms);
    OK(ehr_ti_id(ti, ti_id));
    OK(ehr_handshaker_validator_for(f.hs, ti, NULL, now_ms, &v));
    bool finished = false;
    OK(ehr_validator_is_finished(v, &finished));
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(finished && a.kind == EHR_TRANSMIT_NONE);
    ack = next_ack(v, &s);
    char reason[1024];
    size_t n = 0;
    OK(ehr_ack_reason(ack, reason, sizeof reason, &n));
    EXPECT(!s.valid && memcmp(s.ti_id, ti_id, 32) == 0 && strstr(reason, "role") != NULL);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_ti_free(ti);

    /* The author's card was pulled: no signature, nothing sent. */
    uint8_t secret[32] = {0x42};
    ehr_signer *key = NULL, *card = NULL;
    OK(ehr_signer_new_local(secret, &key));
    struct hsm h;
    memset(&h, 0, sizeof h);
    h.key = key;
    h.fail = 1;
    ehr_signer_callbacks cb = EHR_SIGNER_CALLBACKS_INIT;
    cb.userdata = &h;
    OK(ehr_signer_address(key, cb.author));
    cb.sign = hsm_sign;
    OK(ehr_signer_new_callbacks(&cb, false, &card));
    ti = bp_ti(f.t, "126");
    OK(ehr_ti_id(ti, ti_id));
    OK(ehr_handshaker_validator_for(f.hs, ti, card, now_ms, &v));
    OK(ehr_validator_is_finished(v, &finished));
    ack = next_ack(v, &s);
    OK(ehr_ack_reason(ack, reason, sizeof reason, &n));
    EXPECT(finished && !s.valid && memcmp(s.ti_id, ti_id, 32) == 0 && h.calls == 1);
    EXPECT(strstr(reason, "sign") != NULL && fake.submits == 1);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_ti_free(ti);
    ehr_signer_free(card);
    ehr_signer_free(key);
    fixture_free(&f);
}

static void test_validator_in_an_event_loop(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    ehr_validator_config *vc = quick_validator(2);
    uint64_t now_ms = ehr_clock_now_ms();

    /* A TC anchored and confirmed: one valid ACK, then nothing. */
    ehr_tc *tc = NULL;
    ehr_ti *ti = bp_tc(&f, "128", &tc);
    ehr_validator *v = NULL;
    OK(ehr_validator_new(tc, vc, &v));
    ehr_transmit first = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &first));
    EXPECT(first.kind == EHR_TRANSMIT_PERSIST); /* nothing is sent before */
    persist(v, now_ms);
    OK(ehr_validator_poll_transmit(v, now_ms, &first));
    EXPECT(first.kind == EHR_TRANSMIT_SUBMIT);
    /* An answer for another action, or a success without its hash: refused,
     * and the validator still waits for the submission's result (a blocking
     * run would ask again: test_validator_run_durably). */
    EXPECT_RC(ehr_validator_handle_head(v, now_ms, EHR_OK, 7), EHR_VALIDATOR);
    EXPECT_RC(ehr_validator_handle_submitted(v, now_ms, EHR_OK, NULL), EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("`tx_hash` is NULL");
    ehr_transmit again = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &again));
    EXPECT(again.kind == EHR_TRANSMIT_NONE);
    bool has_deadline = true;
    uint64_t deadline = 0;
    OK(ehr_validator_poll_timeout(v, &has_deadline, &deadline));
    EXPECT(!has_deadline); /* awaiting the submission's result */
    uint8_t tx_hash[32];
    OK(fake_submit(&fake, &first.submission, tx_hash));
    OK(ehr_validator_handle_submitted(v, now_ms, EHR_OK, tx_hash));
    EXPECT(drive(v, &fake, &now_ms) >= 3); /* poll, head, poll */
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    ehr_ack *ack = next_ack(v, &s);
    EXPECT(s.valid && s.has_tx_hash && memcmp(s.tx_hash, tx_hash, 32) == 0);
    uint8_t ti_id[32];
    OK(ehr_tc_ti_id(tc, ti_id));
    EXPECT(memcmp(s.ti_id, ti_id, 32) == 0);
    ehr_ack_free(ack);
    OK(ehr_validator_poll_ack(v, &ack));
    EXPECT(ack == NULL);
    EXPECT_RC(ehr_validator_handle_head(v, now_ms, EHR_OK, 99), EHR_VALIDATOR);
    ehr_validator_free(v);
    ehr_tc_free(tc);
    ehr_ti_free(ti);

    /* A node that cannot be reached: an outage, not a verdict. The validator
     * retries with backoff for as long as it lasts, and says so; once the
     * node is back, the same TC is sent and the TI ends valid. */
    fake.unavailable = 1;
    fake.submits = 0;
    fake.reads = 0;
    ti = bp_tc(&f, "129", &tc);
    OK(ehr_validator_new(tc, vc, &v));
    uint64_t outage_from = now_ms;
    EXPECT(drive_steps(v, &fake, &now_ms, 200) == -1); /* not finished */
    OK(ehr_validator_poll_ack(v, &ack));
    EXPECT(ack == NULL);
    bool in_outage = false;
    ehr_outage outage = EHR_OUTAGE_INIT;
    OK(ehr_validator_outage(v, &in_outage, &outage));
    EXPECT(in_outage && outage.since_ms == outage_from && outage.attempts == (uint32_t)fake.submits);
    EXPECT(outage.attempts > 50 && outage.last_error == EHR_TRANSPORT_UNAVAILABLE);
    EXPECT(outage.retry_at_ms > outage.since_ms);
    char state[2048];
    size_t state_len = 0;
    OK(ehr_validator_state_json(v, state, sizeof state, &state_len));
    EXPECT(strstr(state, "{\"state\":\"outage\",\"outage\":{\"since\":") == state);
    EXPECT(strstr(state, "\"during\":{\"state\":\"generated\"}") != NULL);
    fake.unavailable = 0;
    EXPECT(drive(v, &fake, &now_ms) > 0);
    OK(ehr_validator_outage(v, &in_outage, &outage));
    EXPECT(!in_outage);
    ack = next_ack(v, &s);
    EXPECT(s.valid && fake.reads == 0);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_tc_free(tc);
    ehr_ti_free(ti);

    /* The host crashes after sending: its outbox entry resumes the same TC,
     * and the registry is read before anything is sent again. */
    fake.unavailable = 0;
    fake.submits = 0;
    ti = bp_tc(&f, "131", &tc);
    OK(ehr_validator_new(tc, vc, &v));
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_PERSIST);
    OK(ehr_validator_handle_persisted(v, now_ms, EHR_OUTBOX_UNAVAILABLE)); /* disk full */
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_NONE && fake.submits == 0);
    now_ms += 1000;
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_PERSIST);
    persist(v, now_ms);
    send_and_lose_the_answer(v, &fake, now_ms);
    fake.anchored = 1; /* mined while the host was down */
    ehr_validator_free(v);
    OK(ehr_validator_from_json(outbox_entry, strlen(outbox_entry), &v));
    bool has_key = false;
    uint8_t key[32];
    OK(ehr_validator_outbox_key(v, &has_key, key));
    OK(ehr_tc_ti_id(tc, ti_id));
    EXPECT(has_key && memcmp(key, ti_id, 32) == 0);
    OK(ehr_validator_poll_transmit(v, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_READ_RECORD && memcmp(a.ti_id, ti_id, 32) == 0);
    bool found = false;
    uint8_t stored[32];
    OK(fake_record_hash_of(&fake, a.ti_id, &found, stored));
    OK(ehr_validator_handle_record(v, now_ms, EHR_OK, found, stored));
    EXPECT(drive(v, &fake, &now_ms) > 0);
    ack = next_ack(v, &s);
    uint8_t record_hash[32];
    OK(ehr_tc_record_hash(tc, record_hash));
    EXPECT(s.valid && memcmp(s.record_hash, record_hash, 32) == 0);
    EXPECT(fake.submits == 1); /* sent once */
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_validator *bad = NULL;
    EXPECT_RC(ehr_validator_from_json("{}", 2, &bad), EHR_OUTBOX_ENTRY_INVALID);
    EXPECT(bad == NULL);
    ehr_tc_free(tc);
    ehr_ti_free(ti);
    /* The host's own HTTP client through the core's JSON-RPC policy: the
     * estimate of the submission reverts (Ganache 7.9.2's answer, from
     * docs/vectors/rpc.json), so nothing is sent and the ACK is invalid at
     * once, and a rerun cannot help. */
    ti = bp_tc(&f, "130", &tc);
    OK(ehr_validator_new(tc, vc, &v));
    ehr_transmit action = EHR_TRANSMIT_INIT;
    OK(ehr_validator_poll_transmit(v, now_ms, &action));
    EXPECT(action.kind == EHR_TRANSMIT_PERSIST);
    uint8_t from[20];
    memset(from, 0x11, sizeof from);
    ehr_rpc_exchange *none = NULL;
    /* The outbox write is the host's, not a JSON-RPC exchange. */
    EXPECT_RC(ehr_rpc_exchange_new(v, &action, FAKE_REGISTRY, from, false, &none),
              EHR_INVALID_ARGUMENT);
    EXPECT(none == NULL);
    persist(v, now_ms);
    OK(ehr_validator_poll_transmit(v, now_ms, &action));
    EXPECT(action.kind == EHR_TRANSMIT_SUBMIT);
    ehr_rpc_exchange *x = NULL;
    EXPECT_RC(ehr_rpc_exchange_new(v, &action, NULL, from, false, &x), EHR_NULL_ARGUMENT);
    OK(ehr_rpc_exchange_new(v, &action, FAKE_REGISTRY, from, false, &x));
    char body[2048];
    size_t body_len = 0;
    OK(ehr_rpc_exchange_request(x, 1, body, sizeof body, &body_len));
    EXPECT(strstr(body, "\"method\":\"eth_estimateGas\"") != NULL);
    EXPECT_RC(ehr_rpc_exchange_finish(x, v, now_ms), EHR_NOT_PRESENT);
    static const char reverted[] =
        "{\"id\":7,\"jsonrpc\":\"2.0\",\"error\":{\"message\":\"VM Exception while processing "
        "transaction: revert\",\"code\":-32000,\"data\":{\"hash\":null,\"programCounter\":3689,"
        "\"result\":\"0xe2517d3f000000000000000000000000ffcf8fdee72ac11b5c542428b35eef5769c409f0"
        "0000000000000000000000000000000000000000000000000000000000000000\",\"reason\":null,"
        "\"message\":\"revert\"}}}";
    OK(ehr_rpc_exchange_handle_answer(x, 200, (const uint8_t *)reverted, strlen(reverted)));
    EXPECT_RC(ehr_rpc_exchange_request(x, 2, body, sizeof body, &body_len), EHR_NOT_PRESENT);
    OK(ehr_rpc_exchange_finish(x, v, now_ms));
    ehr_rpc_exchange_free(x);
    ack = next_ack(v, &s);
    EXPECT(!s.valid && !s.may_rerun && !s.has_tx_hash);
    ehr_ack_free(ack);
    ehr_validator_free(v);
    ehr_tc_free(tc);
    ehr_ti_free(ti);
    ehr_rpc_exchange_free(NULL);

    ehr_validator_free(NULL);
    ehr_validator_config_free(vc);
    fixture_free(&f);
}

/* ------------------------------------------------ after the ACK */

/* The anchor watcher over a valid ACK: a reorg deeper than the
 * confirmations takes the anchor away; the watcher reports it vanished with
 * the entry that resends the same TC; the resend is valid with the same
 * record hash and a new transaction, and the watcher runs it to final. */
static void test_watcher_after_the_ack(void) {
    ehr_templates *t = NULL;
    OK(ehr_templates_new_builtin(&t));
    struct fake_chain fake;
    memset(&fake, 0, sizeof fake);
    uint8_t registry[20];
    memset(registry, 0xEE, sizeof registry);
    ehr_transport_callbacks cb = fake_callbacks(&fake);
    ehr_transport *chain = NULL;
    OK(ehr_transport_new_callbacks(&cb, 1337, registry, &chain));
    ehr_key_store *keys = memory_keys();
    ehr_handshaker *hs = handshaker(t, keys, chain);
    ehr_validator_config *vc = quick_validator(2);
    ehr_ti *ti = bp_ti(t, "132");
    ehr_tc *tc = NULL;
    OK(ehr_handshaker_generate(hs, ti, ehr_clock_now_ms(), &tc));
    ehr_validator *v = NULL;
    OK(ehr_validator_new(tc, vc, &v));
    ehr_ack_summary first = EHR_ACK_SUMMARY_INIT;
    ehr_ack *ack = run_to_ack(v, chain, &first);
    EXPECT(first.valid && first.tx_hash[0] == 1);

    ehr_watcher *w = NULL;
    EXPECT_RC(ehr_watcher_new(LIT("{\"dept\": 3}"), &w), EHR_INVALID_ARGUMENT);
    EXPECT(w == NULL);
    OK(ehr_watcher_new(LIT("{\"depth\": 3, \"pollIntervalMs\": 1}"), &w));
    OK(ehr_watcher_watch(w, v, ack));
    size_t watched = 0;
    OK(ehr_watcher_len(w, &watched));
    EXPECT(watched == 1);

    /* Reorged away: the transaction is gone, the registry holds nothing. */
    fake.anchored = 0;
    memset(fake.tx_hash, 0, 32);
    uint64_t now_ms = ehr_clock_now_ms();
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_watcher_poll_transmit(w, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_READ_HEAD);
    EXPECT_RC(ehr_watcher_handle_record(w, now_ms, EHR_OK, false, NULL), EHR_WATCHER);
    {
        /* The node does not answer: the watcher says why it retries. */
        char last[512];
        size_t last_len = 0;
        OK(ehr_watcher_last_error(w, last, sizeof last, &last_len));
        EXPECT(strcmp(last, "null") == 0);
        OK(ehr_watcher_handle_head(w, now_ms, EHR_TRANSPORT_UNAVAILABLE, 0));
        OK(ehr_watcher_last_error(w, last, sizeof last, &last_len));
        EXPECT(strstr(last, "unavailable") != NULL);
        /* Asked again once its backoff is over. */
        a.kind = EHR_TRANSMIT_NONE;
        for (int i = 0; i < 100 && a.kind != EHR_TRANSMIT_READ_HEAD; i++) {
            bool has_deadline = false;
            uint64_t deadline = 0;
            OK(ehr_watcher_poll_timeout(w, &has_deadline, &deadline));
            now_ms = has_deadline && deadline > now_ms ? deadline : now_ms + 1;
            OK(ehr_watcher_poll_transmit(w, now_ms, &a));
        }
        EXPECT(a.kind == EHR_TRANSMIT_READ_HEAD);
    }
    uint64_t head = 0;
    OK(fake_head(&fake, &head));
    {
        /* The head read through the host's own HTTP client and the core's
         * JSON-RPC policy, as for a validator's actions. */
        ehr_rpc_exchange *x = NULL;
        OK(ehr_rpc_exchange_new_watcher(w, &a, registry, false, &x));
        char body[1024], answer[128];
        size_t body_len = 0;
        OK(ehr_rpc_exchange_request(x, 1, body, sizeof body, &body_len));
        EXPECT(strstr(body, "\"method\":\"eth_blockNumber\"") != NULL);
        int n = snprintf(answer, sizeof answer, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x%llx\"}",
                         (unsigned long long)head);
        OK(ehr_rpc_exchange_handle_answer(x, 200, (const uint8_t *)answer, (size_t)n));
        OK(ehr_rpc_exchange_finish_watcher(x, w, now_ms));
        ehr_rpc_exchange_free(x);
        /* Taken: the head was not asked for again, and the read passed. */
        EXPECT_RC(ehr_watcher_handle_head(w, now_ms, EHR_OK, head), EHR_WATCHER);
        char last[64];
        size_t last_len = 0;
        OK(ehr_watcher_last_error(w, last, sizeof last, &last_len));
        EXPECT(strcmp(last, "null") == 0);
    }
    OK(ehr_watcher_poll_transmit(w, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_POLL && memcmp(a.tx_hash, first.tx_hash, 32) == 0);
    uint32_t status = 0;
    ehr_receipt receipt = EHR_RECEIPT_INIT;
    OK(fake_poll(&fake, a.tx_hash, &a.submission, &status, &receipt));
    OK(ehr_watcher_handle_receipt(w, now_ms, EHR_OK, status, &receipt));
    OK(ehr_watcher_poll_transmit(w, now_ms, &a));
    EXPECT(a.kind == EHR_TRANSMIT_READ_RECORD && memcmp(a.ti_id, first.ti_id, 32) == 0);
    bool found = true;
    uint8_t stored[32];
    OK(fake_record_hash_of(&fake, a.ti_id, &found, stored));
    OK(ehr_watcher_handle_record(w, now_ms, EHR_OK, found, stored));
    static char event[32768];
    size_t event_len = 0;
    bool has_event = false;
    EXPECT_RC(ehr_watcher_poll_event(w, event, 8, &event_len, &has_event), EHR_BUFFER_TOO_SMALL);
    OK(ehr_watcher_poll_event(w, event, sizeof event, &event_len, &has_event)); /* kept */
    EXPECT(has_event && strncmp(event, "{\"event\":\"vanished\"", 19) == 0);
    EXPECT(strstr(event, "\"held\":{\"holds\":\"nothing\"}") != NULL);

    /* The same TC again: the same record hash, a new transaction. */
    ehr_validator *again = NULL;
    EXPECT_RC(ehr_validator_from_event(LIT("{\"event\":\"final\"}"), &again), EHR_INVALID_ARGUMENT);
    OK(ehr_validator_from_event(event, event_len, &again));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    ehr_ack *resent = run_to_ack(again, chain, &s);
    EXPECT(s.valid && memcmp(s.record_hash, first.record_hash, 32) == 0);
    EXPECT(s.tx_hash[0] == 2 && fake.submits == 2);
    OK(ehr_watcher_watch(w, again, resent));
    EXPECT_RC(ehr_watcher_watch(w, v, resent), EHR_WATCHER); /* another validator's ACK */

    /* Saved and resumed, then run (blocking) until final. */
    static char state[32768];
    size_t state_len = 0;
    OK(ehr_watcher_to_json(w, state, sizeof state, &state_len));
    EXPECT(strncmp(state, "{\"format\":\"ehrchain.watcher/1\"", 30) == 0);
    ehr_watcher_free(w);
    w = NULL;
    OK(ehr_watcher_from_json(state, state_len, &w));
    /* A signalled cancel token: the run stops at once, nothing reported. */
    ehr_cancel *cancel = NULL;
    OK(ehr_cancel_new(&cancel));
    OK(ehr_cancel_signal(cancel));
    OK(ehr_watcher_run(w, chain, 0, cancel));
    ehr_cancel_free(cancel);
    OK(ehr_watcher_len(w, &watched));
    EXPECT(watched == 1);
    OK(ehr_watcher_run(w, chain, ehr_clock_now_ms() + 10000, NULL));
    expect_final_then_idle(w);

    ehr_ack_free(resent);
    ehr_ack_free(ack);
    ehr_validator_free(again);
    ehr_validator_free(v);
    ehr_watcher_free(w);
    ehr_watcher_free(NULL);
    ehr_tc_free(tc);
    ehr_ti_free(ti);
    ehr_validator_config_free(vc);
    ehr_handshaker_free(hs);
    ehr_key_store_free(keys);
    ehr_transport_free(chain);
    ehr_templates_free(t);
}

/* ---------------------------------------------------------------- FHIR */

#define MRN_SYSTEM "urn:oid:1.2.36.146.595.217.0.1"

/* A Bundle: a Patient, a Practitioner, a nurse's blood pressure and a
 * Procedure no template maps. */
static const char FHIR_BUNDLE[] =
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"fullUrl\":\"urn:uuid:p1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\","
    "\"identifier\":[{\"system\":\"" MRN_SYSTEM "\",\"value\":\"MRN-000123\"}]}},"
    "{\"fullUrl\":\"urn:uuid:n1\",\"resource\":{\"resourceType\":\"Practitioner\",\"id\":\"n1\"}},"
    "{\"fullUrl\":\"urn:uuid:bp1\",\"resource\":{\"resourceType\":\"Observation\",\"id\":\"bp1\","
    "\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
    "\"subject\":{\"reference\":\"urn:uuid:p1\"},\"performer\":[{\"reference\":\"urn:uuid:n1\"}],"
    "\"effectiveDateTime\":\"2025-11-30T09:28:00Z\",\"component\":["
    "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
    "\"valueQuantity\":{\"value\":120,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},"
    "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
    "\"valueQuantity\":{\"value\":80,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}},"
    "{\"fullUrl\":\"urn:uuid:pr1\",\"resource\":{\"resourceType\":\"Procedure\",\"id\":\"pr1\"}}]}";

/* Maps FHIR_BUNDLE with `options`, submits its one TI on the devnet, and
 * writes the FHIR resource of the ACK into `out` (malloc'd). */
static void fhir_round_trip(const ehr_templates *t, ehr_handshaker *hs, ehr_transport *chain,
                            const char *options, bool *valid_out, char **out,
                            char **audit_out) {
    ehr_fhir_mapping *mapping = NULL;
    OK(ehr_fhir_map_bundle(t, LIT(FHIR_BUNDLE), options, strlen(options), &mapping));
    size_t mapped = 0, unmapped = 0;
    OK(ehr_fhir_mapping_counts(mapping, &mapped, &unmapped));
    EXPECT(mapped == 1 && unmapped == 3);
    ehr_ti *ti = NULL;
    EXPECT_RC(ehr_fhir_mapping_ti(mapping, 1, &ti), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("index 1 is out of range: the mapping made 1 TI(s)");
    OK(ehr_fhir_mapping_ti(mapping, 0, &ti));
    char entry[4096];
    size_t entry_len = 0;
    OK(ehr_fhir_mapping_entry_json(mapping, 0, entry, sizeof entry, &entry_len));
    EXPECT(strstr(entry, "\"source\":{\"reference\":\"urn:uuid:bp1\",\"resourceType\":\"Observation\","
                         "\"author\":\"Practitioner/n1\"}") != NULL);
    ehr_ack *ack = NULL;
    OK(ehr_handshaker_submit(hs, ti, chain, 0, NULL, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    *valid_out = s.valid;
    uint64_t chain_id = 0;
    uint8_t registry[20];
    OK(ehr_transport_chain(chain, &chain_id, registry));
    size_t n = 0;
    EXPECT_RC(ehr_fhir_ack_to_fhir(ack, entry, entry_len, chain_id, registry, 1764495000123u, NULL,
                                   0, &n),
              EHR_BUFFER_TOO_SMALL);
    *out = malloc(n);
    OK(ehr_fhir_ack_to_fhir(ack, entry, entry_len, chain_id, registry, 1764495000123u, *out, n,
                            &n));
    *audit_out = malloc(8192);
    OK(ehr_fhir_ack_to_audit_event(ack, entry, entry_len, chain_id, registry, 1764495000123u,
                                   *audit_out, 8192, &n));
    ehr_ack_free(ack);
    ehr_ti_free(ti);
    ehr_fhir_mapping_free(mapping);
}

static void test_fhir_in_and_out(void) {
    struct fixture f = fixture_new(DEVNET, NULL);

    /* A valid ACK comes back as a Provenance of the Observation. */
    bool valid = false;
    char *fhir = NULL, *audit = NULL;
    fhir_round_trip(f.t, f.hs, f.chain, "{\"patientIdentifierSystem\":\"" MRN_SYSTEM "\"}", &valid,
                    &fhir, &audit);
    EXPECT(valid);
    EXPECT(strstr(fhir, "\"resourceType\":\"Provenance\"") != NULL);
    EXPECT(strstr(fhir, "\"target\":[{\"reference\":\"urn:uuid:bp1\"}]") != NULL);
    EXPECT(strstr(fhir, "\"recorded\":\"2025-11-30T09:30:00.123Z\"") != NULL);
    /* For the audit log, an AuditEvent of the valid ACK too: it succeeded. */
    EXPECT(strstr(audit, "\"resourceType\":\"AuditEvent\"") != NULL);
    EXPECT(strstr(audit, "\"outcome\":\"0\"") != NULL);
    EXPECT(strstr(audit, "\"recorded\":\"2025-11-30T09:30:00.123Z\"") != NULL);
    EXPECT(strstr(audit, "outcomeDesc") == NULL);
    free(fhir);
    free(audit);

    /* Acting as a pathologist the chain refuses it: an AuditEvent says why. */
    fhir_round_trip(f.t, f.hs, f.chain,
                    "{\"patientIdentifierSystem\":\"" MRN_SYSTEM "\",\"authorRole\":\"pathologist\"}",
                    &valid, &fhir, &audit);
    EXPECT(!valid);
    EXPECT(strstr(fhir, "\"resourceType\":\"AuditEvent\"") != NULL);
    EXPECT(strstr(fhir, "\"outcome\":\"8\"") != NULL);
    EXPECT(strstr(fhir, "role \\\"pathologist\\\" may not submit this template") != NULL);
    EXPECT(strcmp(audit, fhir) == 0); /* invalid: the same AuditEvent */
    free(fhir);
    free(audit);

    /* The whole mapping as JSON: every entry accounted for. */
    ehr_fhir_mapping *mapping = NULL;
    const char *options = "{\"patientIdentifierSystem\":\"" MRN_SYSTEM "\"}";
    OK(ehr_fhir_map_bundle(f.t, LIT(FHIR_BUNDLE), options, strlen(options), &mapping));
    char json[8192];
    size_t n = 0;
    OK(ehr_fhir_mapping_to_json(mapping, json, sizeof json, &n));
    EXPECT(strstr(json, "\"fullUrl\":\"urn:uuid:pr1\",\"resourceType\":\"Procedure\","
                        "\"code\":\"EHR_FHIR_UNMAPPED\"") != NULL);
    ehr_fhir_mapping_free(mapping);

    /* Refused: a reading in kPa, a malformed Bundle, options without the MRN system. */
    static const char KPA[] =
        "{\"resourceType\":\"Observation\",\"id\":\"bp2\",\"status\":\"final\","
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
        "\"subject\":{\"identifier\":{\"system\":\"" MRN_SYSTEM "\",\"value\":\"MRN-1\"}},"
        "\"performer\":[{\"reference\":\"Practitioner/n1\"}],"
        "\"effectiveDateTime\":\"2025-11-30T09:28:00Z\",\"component\":["
        "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
        "\"valueQuantity\":{\"value\":16,\"system\":\"http://unitsofmeasure.org\",\"code\":\"kPa\"}},"
        "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
        "\"valueQuantity\":{\"value\":80,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}";
    mapping = NULL;
    EXPECT_RC(ehr_fhir_map_resource(f.t, LIT(KPA), options, strlen(options), &mapping),
              EHR_FHIR_REJECTED);
    EXPECT_LAST_ERROR("(field \"systolic\"): unit \"kPa\" where \"mm[Hg]\" (UCUM) is expected");
    EXPECT(mapping == NULL);

    /* To a template named by id: the same checks; another template's
     * resource type is refused, an id no template has is unknown. */
    uint8_t bp[32], custody[32], unknown[32] = {7};
    OK(ehr_templates_latest(f.t, LIT("blood-pressure"), bp));
    OK(ehr_templates_latest(f.t, LIT("drug-shipment-custody"), custody));
    EXPECT_RC(ehr_fhir_map_resource_to(f.t, bp, LIT(KPA), options, strlen(options), &mapping),
              EHR_FHIR_REJECTED);
    EXPECT_LAST_ERROR("(field \"systolic\"): unit \"kPa\" where \"mm[Hg]\" (UCUM) is expected");
    static const char MMHG[] =
        "{\"resourceType\":\"Observation\",\"id\":\"bp3\",\"status\":\"final\","
        "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
        "\"subject\":{\"identifier\":{\"system\":\"" MRN_SYSTEM "\",\"value\":\"MRN-1\"}},"
        "\"performer\":[{\"reference\":\"Practitioner/n1\"}],"
        "\"effectiveDateTime\":\"2025-11-30T09:28:00Z\",\"component\":["
        "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8480-6\"}]},"
        "\"valueQuantity\":{\"value\":120,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}},"
        "{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8462-4\"}]},"
        "\"valueQuantity\":{\"value\":80,\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}]}";
    const char *mmhg = MMHG;
    OK(ehr_fhir_map_resource_to(f.t, bp, mmhg, strlen(mmhg), options, strlen(options), &mapping));
    ehr_ti *mapped_ti = NULL;
    char ti_json[4096], bp_hex[67], expected[96];
    OK(ehr_fhir_mapping_ti(mapping, 0, &mapped_ti));
    OK(ehr_ti_to_json(mapped_ti, ti_json, sizeof ti_json, &n));
    snprintf(expected, sizeof expected, "\"templateId\":\"%s\"", to_hex(bp_hex, bp, 32));
    EXPECT(strstr(ti_json, expected) != NULL);
    ehr_ti_free(mapped_ti);
    ehr_fhir_mapping_free(mapping);
    mapping = NULL;
    EXPECT_RC(ehr_fhir_map_resource_to(f.t, custody, mmhg, strlen(mmhg), options, strlen(options),
                                       &mapping),
              EHR_FHIR_REJECTED);
    EXPECT_RC(ehr_fhir_map_resource_to(f.t, unknown, mmhg, strlen(mmhg), options, strlen(options),
                                       &mapping),
              EHR_TEMPLATE_UNKNOWN);
    EXPECT(mapping == NULL);
    EXPECT_RC(ehr_fhir_map_bundle(f.t, LIT("{\"resourceType\":\"Bundle\",\"type\":\"document\"}"),
                                  options, strlen(options), &mapping),
              EHR_FHIR_MALFORMED);
    EXPECT_LAST_ERROR("Bundle.type \"document\" is not one of collection, transaction, batch, searchset");
    EXPECT_RC(ehr_fhir_map_bundle(f.t, LIT(FHIR_BUNDLE), LIT("{}"), &mapping), EHR_INVALID_JSON);
    EXPECT_LAST_ERROR("missing field `patientIdentifierSystem`");
    EXPECT_RC(ehr_fhir_map_bundle(NULL, LIT(FHIR_BUNDLE), options, strlen(options), &mapping),
              EHR_NULL_ARGUMENT);
    EXPECT_LAST_ERROR("the argument `templates` is NULL");

    fixture_free(&f);
}

/* ------------------------------------------------------------ pipeline */

/* Runs `p` as an event loop would: a step, then sleep until the time it
 * names, until it holds nothing (then the time named is 0). Returns the
 * number of steps. */
static int step_until_idle(ehr_pipeline *p, ehr_transport *chain) {
    int steps = 0;
    uint64_t wake = 0;
    do {
        OK(ehr_pipeline_step(p, chain, NULL, &wake));
        steps++;
        uint64_t now = ehr_clock_now_ms();
        if (wake > now) {
            struct timespec pause = {(time_t)((wake - now) / 1000),
                                     (long)((wake - now) % 1000) * 1000000L};
            nanosleep(&pause, NULL);
        }
    } while (wake != 0 && steps < 10000);
    size_t pending = 1;
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 0);
    return steps;
}

/* A pipeline whose host carries its actions out over its own HTTP client,
 * through the core's JSON-RPC policy (ehr_rpc_exchange_*_pipeline): the
 * node refuses the estimate (Hardhat's answer, docs/vectors/rpc.json), so
 * nothing is sent and the TI's ACK is invalid with the decoded error. */
static void test_pipeline_over_the_hosts_http(void) {
    struct fixture f = fixture_new(NO_CHAIN, NULL);
    struct mem_outbox ob;
    memset(&ob, 0, sizeof ob);
    ehr_outbox_callbacks outbox = mem_outbox_callbacks(&ob);
    uint8_t registry[20] = {0}, from[20];
    memset(from, 0x70, sizeof from);
    ehr_validator_config *quick = quick_validator(1);
    ehr_pipeline *p = NULL;
    OK(ehr_pipeline_new(1337, registry, 0, 0, 0, quick, &p));
    ehr_tc *tc = NULL;
    ehr_ti *ti = bp_tc(&f, "133", &tc);
    uint64_t now = ehr_clock_now_ms();
    OK(ehr_pipeline_push(p, tc, EHR_PRIORITY_URGENT, now));
    ehr_pipeline_transmit t = EHR_PIPELINE_TRANSMIT_INIT;
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_pipeline_poll_transmit(p, now, &t, &a));
    EXPECT(t.kind == EHR_PIPELINE_TRANSMIT_PERSIST);
    ehr_rpc_exchange *x = NULL;
    EXPECT_RC(ehr_rpc_exchange_new_pipeline(p, &t, &a, from, false, &x),
              EHR_INVALID_ARGUMENT); /* the host's storage, not JSON-RPC */
    OK(ehr_pipeline_handle_persisted(p, t.round, now, EHR_OK));
    OK(ehr_pipeline_poll_transmit(p, now, &t, &a));
    EXPECT(t.kind == EHR_PIPELINE_TRANSMIT_FLIGHT && a.kind == EHR_TRANSMIT_SUBMIT);
    EXPECT_RC(ehr_rpc_exchange_new_pipeline(p, &t, NULL, from, false, &x),
              EHR_NULL_ARGUMENT);
    OK(ehr_rpc_exchange_new_pipeline(p, &t, &a, from, false, &x));
    char body[4096];
    size_t n = 0;
    OK(ehr_rpc_exchange_request(x, 1, body, sizeof body, &n));
    EXPECT(strstr(body, "\"method\":\"eth_estimateGas\"") != NULL);
    EXPECT_RC(ehr_rpc_exchange_finish_pipeline(x, p, now), EHR_NOT_PRESENT);
    const char *reverted =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,\"message\":\"Error: VM Exception "
        "while processing transaction: reverted with an unrecognized custom "
        "error\",\"data\":{\"message\":\"reverted\",\"data\":"
        "\"0xe2517d3f00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8000000000000"
        "0000000000000000000000000000000000000000000000000000\"}}}";
    OK(ehr_rpc_exchange_handle_answer(x, 200, (const uint8_t *)reverted, strlen(reverted)));
    ehr_validator *v = NULL;
    OK(ehr_validator_new(tc, NULL, &v));
    EXPECT_RC(ehr_rpc_exchange_finish(x, v, now), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("ehr_rpc_exchange_finish_pipeline");
    ehr_validator_free(v);
    OK(ehr_rpc_exchange_finish_pipeline(x, p, now));
    ehr_rpc_exchange_free(x);
    size_t verdicts = 0;
    OK(ehr_pipeline_poll_finished(p, &outbox, &verdicts));
    EXPECT(verdicts == 1 && ob.finishes == 1);
    ehr_ack *ack = NULL;
    OK(ehr_pipeline_poll_ack(p, &ack));
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(!s.valid && !s.may_rerun && !s.has_tx_hash);
    char json[8192];
    OK(ehr_ack_to_json(ack, json, sizeof json, &n));
    EXPECT(strstr(json, "AccessControlUnauthorizedAccount") != NULL);
    ehr_ack_free(ack);
    /* Its verdict taken, the flight is no longer the pipeline's. */
    EXPECT_RC(ehr_rpc_exchange_new_pipeline(p, &t, &a, from, false, &x),
              EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("holds no flight");

    /* The pipeline's head read goes the same way (no submission waits for
     * it here: the exchange's requests and routing are what is checked). */
    ehr_pipeline_transmit head = EHR_PIPELINE_TRANSMIT_INIT;
    head.kind = EHR_PIPELINE_TRANSMIT_READ_HEAD;
    OK(ehr_rpc_exchange_new_pipeline(p, &head, NULL, NULL, false, &x));
    OK(ehr_rpc_exchange_request(x, 2, body, sizeof body, &n));
    EXPECT(strstr(body, "\"method\":\"eth_blockNumber\"") != NULL);
    const char *block = "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x10\"}";
    OK(ehr_rpc_exchange_handle_answer(x, 200, (const uint8_t *)block, strlen(block)));
    ehr_pipeline *other = NULL;
    OK(ehr_pipeline_new(1337, registry, 0, 0, 0, quick, &other));
    EXPECT_RC(ehr_rpc_exchange_finish_pipeline(x, other, now), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("another pipeline's");
    ehr_pipeline_free(other);
    OK(ehr_rpc_exchange_finish_pipeline(x, p, now));
    EXPECT_RC(ehr_rpc_exchange_finish_pipeline(x, p, now), EHR_NOT_PRESENT); /* once */
    ehr_rpc_exchange_free(x);

    ehr_pipeline_free(p);
    ehr_validator_config_free(quick);
    ehr_tc_free(tc);
    ehr_ti_free(ti);
    fixture_free(&f);
}

static void pipeline_drain_keeps_stored_acks(struct fixture *f, ehr_pipeline *p);

static void test_pipeline_on_the_devnet(void) {
    struct fixture f = fixture_new(DEVNET, NULL);
    uint64_t chain_id = 0;
    uint8_t registry[20];
    OK(ehr_transport_chain(f.chain, &chain_id, registry));
    ehr_validator_config *quick = quick_validator(1);
    ehr_pipeline *p = NULL;
    /* At most 13 TIs held; batches of 8, or after 50 ms. */
    OK(ehr_pipeline_new(chain_id, registry, 13, 8, 50, quick, &p));

    /* Ten bulk readings (a batch of 8 and one of 2), two urgent ones alone,
     * one the template refuses: thirteen ACKs, none lost. */
    uint64_t now = ehr_clock_now_ms();
    ehr_ti *tis[13];
    for (int i = 0; i < 12; i++) {
        tis[i] = bp_ti(f.t, i < 10 ? "121" : "180");
        OK(ehr_handshaker_push(f.hs, p, tis[i], i < 10 ? EHR_PRIORITY_BULK : EHR_PRIORITY_URGENT, now));
    }
    tis[12] = refused_ti(f.t, now);
    OK(ehr_handshaker_push(f.hs, p, tis[12], EHR_PRIORITY_BULK, now));
    size_t pending = 0;
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 13);

    /* Full: busy, nothing kept; a TI held already; a priority that is not one. */
    ehr_ti *extra = bp_ti(f.t, "122");
    EXPECT_RC(ehr_handshaker_push(f.hs, p, extra, EHR_PRIORITY_BULK, now), EHR_PIPELINE_BUSY);
    EXPECT_LAST_ERROR("the pipeline is busy");
    ehr_tc *tc = NULL;
    OK(ehr_handshaker_generate(f.hs, extra, now, &tc));
    EXPECT_RC(ehr_pipeline_push(p, tc, EHR_PRIORITY_URGENT, now), EHR_PIPELINE_BUSY);
    EXPECT_RC(ehr_pipeline_push(p, tc, 7, now), EHR_INVALID_ARGUMENT);

    OK(ehr_pipeline_drain(p, f.chain, NULL, 0, NULL));
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 0);
    int acks = 0, valid = 0, proven = 0;
    ehr_ack *ack = NULL;
    while (ehr_pipeline_poll_ack(p, &ack) == EHR_OK && ack != NULL) {
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        OK(ehr_ack_to_summary(ack, &s));
        acks++;
        valid += s.valid;
        proven += s.valid && s.has_proof;
        ehr_ack_free(ack);
    }
    EXPECT(acks == 13 && valid == 12 && proven == 10);

    /* Room again: the refused TC goes in now, driven by an event loop's
     * steps (each says when to call again); sent again after its ACK, it
     * is a valid replay, not a second anchor. */
    for (int round = 0; round < 2; round++) {
        OK(ehr_pipeline_push(p, tc, EHR_PRIORITY_URGENT, now));
        if (round == 0) {
            /* One step or several: a slow host (valgrind) may reach the
             * verdict within the first. */
            EXPECT(step_until_idle(p, f.chain) >= 1);
        } else {
            OK(ehr_pipeline_drain(p, f.chain, NULL, 0, NULL));
        }
        OK(ehr_pipeline_poll_ack(p, &ack));
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        OK(ehr_ack_to_summary(ack, &s));
        EXPECT(ack != NULL && s.valid && s.replay == (round == 1));
        ehr_ack_free(ack);
    }

    ehr_tc_free(tc);
    ehr_ti_free(extra);
    for (int i = 0; i < 13; i++) {
        ehr_ti_free(tis[i]);
    }

    /* Through the host's outbox: ten bulk readings (batches of 8 and 2) and
     * two urgent ones, four verdicts. With finish_all, a round's verdicts
     * come in one call; without it (NULL, or an older host's struct that
     * ends before it, alone on the heap), one finish each. */
    for (int layout = 2; layout >= 0; layout--) {
        int batched = layout == 2;
        struct mem_outbox ob;
        memset(&ob, 0, sizeof ob);
        ehr_outbox_callbacks outbox = {.struct_size = sizeof outbox,
                                       .userdata = &ob,
                                       .save = ob_count_save,
                                       .load = ob_load,
                                       .keys = ob_keys,
                                       .finish = ob_finish,
                                       .finish_all = batched ? ob_finish_all : NULL};
        struct outbox_callbacks_v1 *old = malloc(sizeof *old);
        old->struct_size = sizeof *old;
        old->userdata = &ob;
        old->save = ob_count_save;
        old->load = ob_load;
        old->keys = ob_keys;
        old->finish = ob_finish;
        now = ehr_clock_now_ms();
        for (int i = 0; i < 12; i++) {
            tis[i] = bp_ti(f.t, "121");
            OK(ehr_handshaker_push(f.hs, p, tis[i], i < 10 ? EHR_PRIORITY_BULK : EHR_PRIORITY_URGENT, now));
        }
        outbox.struct_size = 0;
        EXPECT_RC(ehr_pipeline_drain(p, f.chain, &outbox, 0, NULL), EHR_INVALID_ARGUMENT);
        EXPECT_LAST_ERROR("`outbox->struct_size` is 0, but an ehr_outbox_callbacks is at least");
        outbox.struct_size = sizeof outbox;
        OK(ehr_pipeline_drain(p, f.chain,
                              layout > 0 ? &outbox : (const ehr_outbox_callbacks *)(void *)old, 0,
                              NULL));
        free(old);
        EXPECT(ob.finishes == 4 && ob.acks == 12 && ob.saves >= 4);
        EXPECT(batched ? ob.finish_alls >= 1 && ob.finish_alls <= 4 : ob.finish_alls == 0);
        while (ehr_pipeline_poll_ack(p, &ack) == EHR_OK && ack != NULL) {
            ehr_ack_free(ack);
        }
        for (int i = 0; i < 12; i++) {
            ehr_ti_free(tis[i]);
        }
    }
    pipeline_drain_keeps_stored_acks(&f, p);
    ehr_pipeline_free(p);
    ehr_validator_config_free(quick);
    fixture_free(&f);
}

/* A chain of many records for the pipeline in the host's loop: every
 * submission (a record or a batch root) is mined at once in its own block. */
struct ledger {
    uint64_t head;
    int n;
    struct {
        uint8_t id[32], hash[32], tx[32];
        uint64_t block;
    } rec[16];
};

/* Performs `a`, the action of the pipeline's `flight`, on `l` and hands the
 * result back by the flight's id. */
static void ledger_answer(struct ledger *l, ehr_pipeline *p, uint64_t flight, const ehr_transmit *a,
                          uint64_t now_ms) {
    switch (a->kind) {
    case EHR_TRANSMIT_SUBMIT: {
        EXPECT(l->n < 16 && a->submission.calldata_len > 4);
        memcpy(l->rec[l->n].id, a->submission.id, 32);
        memcpy(l->rec[l->n].hash, a->submission.hash, 32);
        memset(l->rec[l->n].tx, 0, 32);
        l->rec[l->n].tx[0] = (uint8_t)(l->n + 1);
        l->rec[l->n].block = ++l->head;
        OK(ehr_pipeline_handle_submitted(p, flight, now_ms, EHR_OK, l->rec[l->n].tx));
        l->n++;
        break;
    }
    case EHR_TRANSMIT_POLL: {
        ehr_receipt receipt = EHR_RECEIPT_INIT;
        uint32_t status = EHR_POLL_DROPPED;
        for (int i = 0; i < l->n; i++) {
            if (memcmp(l->rec[i].tx, a->tx_hash, 32) == 0) {
                status = EHR_POLL_INCLUDED;
                memcpy(receipt.tx_hash, a->tx_hash, 32);
                receipt.success = true;
                receipt.block_number = l->rec[i].block;
                memset(receipt.block_hash, 0x5A, 32);
                receipt.has_anchor_log_index = true;
                receipt.gas_used = 50000;
            }
        }
        EXPECT(status == EHR_POLL_INCLUDED);
        OK(ehr_pipeline_handle_receipt(p, flight, now_ms, EHR_OK, status, &receipt));
        break;
    }
    default:
        EXPECT(a->kind == EHR_TRANSMIT_SUBMIT || a->kind == EHR_TRANSMIT_POLL);
    }
}

/* The host's storage thread, in one test thread: entries queued by `save`
 * and stored when the loop says so; verdicts taken by `finish_all`, or by
 * `finish` one by one (each key must come once). */
struct queued_store {
    int queued, stored, fail_finish_at, finish_calls, verdicts, keyless, acks;
    uint8_t keys[16][32];
};

static ehr_result qs_save(void *userdata, const uint8_t *key, const char *entry, size_t len) {
    (void)key;
    EXPECT(len > 0 && strstr(entry, "\"ehrchain.validator/2\"") != NULL);
    ((struct queued_store *)userdata)->queued++;
    return EHR_OK;
}

/* Stores one verdict (one of a TI refused before anything was stored has
 * no key). */
static ehr_result qs_take(struct queued_store *q, const uint8_t *key, size_t acks_len) {
    q->acks += (int)acks_len;
    if (key == NULL) {
        q->keyless++;
        return EHR_OK;
    }
    EXPECT(q->verdicts < 16);
    for (int i = 0; i < q->verdicts; i++) {
        EXPECT(memcmp(q->keys[i], key, 32) != 0); /* never stored twice */
    }
    memcpy(q->keys[q->verdicts++], key, 32);
    return EHR_OK;
}

/* Stores one verdict, or fails the `fail_finish_at`th call (1-based). */
static ehr_result qs_finish(void *userdata, const uint8_t *key, const ehr_ack *const *acks,
                            size_t acks_len) {
    struct queued_store *q = userdata;
    (void)acks;
    if (++q->finish_calls == q->fail_finish_at) {
        return EHR_OUTBOX_UNAVAILABLE; /* the database is locked */
    }
    return qs_take(q, key, acks_len);
}

static ehr_result qs_finish_all(void *userdata, const ehr_verdict *verdicts, size_t len) {
    struct queued_store *q = userdata;
    EXPECT(len > 0);
    if (++q->finish_calls == q->fail_finish_at) {
        return EHR_OUTBOX_UNAVAILABLE;
    }
    for (size_t i = 0; i < len; i++) {
        OK(qs_take(q, verdicts[i].key, verdicts[i].acks_len));
    }
    return EHR_OK;
}

/* ehr_pipeline_drain of the idle `p` whose outbox fails a later store: the
 * ACK it stored before (a refused TI's, in the first write) is not lost
 * with the error; it waits for ehr_pipeline_poll_ack. */
static void pipeline_drain_keeps_stored_acks(struct fixture *f, ehr_pipeline *p) {
    uint64_t now = ehr_clock_now_ms();
    ehr_ti *refused = refused_ti(f->t, now);
    ehr_ti *anchored = bp_ti(f->t, "121");
    OK(ehr_handshaker_push(f->hs, p, refused, EHR_PRIORITY_URGENT, now));
    OK(ehr_handshaker_push(f->hs, p, anchored, EHR_PRIORITY_URGENT, now));
    struct queued_store q;
    memset(&q, 0, sizeof q);
    q.fail_finish_at = 2; /* the anchored TI's verdict: the disk is full */
    ehr_outbox_callbacks store = {
        .struct_size = sizeof store, .userdata = &q, .save = qs_save, .finish = qs_finish};
    EXPECT_RC(ehr_pipeline_drain(p, f->chain, &store, 0, NULL), EHR_OUTBOX_UNAVAILABLE);
    EXPECT(q.keyless == 1 && q.verdicts == 0 && q.acks == 1);
    ehr_ack *ack = NULL;
    OK(ehr_pipeline_poll_ack(p, &ack));
    EXPECT(ack != NULL);
    if (ack != NULL) {
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        OK(ehr_ack_to_summary(ack, &s));
        uint8_t refused_id[32];
        OK(ehr_ti_id(refused, refused_id));
        EXPECT(!s.valid && memcmp(s.ti_id, refused_id, 32) == 0);
        ehr_ack_free(ack);
    }
    OK(ehr_pipeline_poll_ack(p, &ack));
    EXPECT(ack == NULL); /* once */
    /* The anchored TI's verdict waits in its stored entry, to be resumed. */
    size_t pending = 1;
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 0 && q.queued >= 1);
    ehr_ti_free(anchored);
    ehr_ti_free(refused);
}

/* Counts a valid `ack` against the TI it is for (frees it). */
static void seen_ack(ehr_ack *ack, uint8_t ti_ids[8][32], int seen[8]) {
    ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
    OK(ehr_ack_to_summary(ack, &s));
    EXPECT(s.valid);
    for (int i = 0; i < 8; i++) {
        seen[i] += memcmp(s.ti_id, ti_ids[i], 32) == 0;
    }
    ehr_ack_free(ack);
}

/* The pipeline without a transport: the host performs every action (a
 * ledger in memory here), stores each round in its own time, and takes the
 * verdicts; five urgent records and a batch of three, eight ACKs, each for
 * its own TI. The first round's write fails (nothing of it is sent), and
 * so does the first store of verdicts: with `finish_all` (all together) or
 * without (one `finish` each; the second fails), none is lost or stored
 * twice. */
static void pipeline_in_an_event_loop(bool together) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    ehr_validator_config *quick = quick_validator(1);
    ehr_pipeline *p = NULL;
    OK(ehr_pipeline_new(1337, FAKE_REGISTRY, 0, 3, 0, quick, &p));
    uint64_t now = ehr_clock_now_ms();
    ehr_ti *tis[8];
    uint8_t ti_ids[8][32];
    for (int i = 0; i < 8; i++) {
        tis[i] = bp_ti(f.t, "121");
        OK(ehr_ti_id(tis[i], ti_ids[i]));
        OK(ehr_handshaker_push(f.hs, p, tis[i], i < 5 ? EHR_PRIORITY_URGENT : EHR_PRIORITY_BULK, now));
    }
    struct queued_store q;
    memset(&q, 0, sizeof q);
    q.fail_finish_at = together ? 1 : 2;
    ehr_outbox_callbacks store = {.struct_size = sizeof store,
                                  .userdata = &q,
                                  .save = qs_save,
                                  .finish = qs_finish,
                                  .finish_all = together ? qs_finish_all : NULL};
    /* A result for a flight the pipeline does not hold changes nothing. */
    uint8_t tx_hash[32] = {1};
    OK(ehr_pipeline_handle_submitted(p, 99, now, EHR_OK, tx_hash));

    struct ledger l;
    memset(&l, 0, sizeof l);
    ehr_pipeline_transmit a;
    ehr_transmit action = EHR_TRANSMIT_INIT;
    a.struct_size = 0;
    EXPECT_RC(ehr_pipeline_poll_transmit(p, now, &a, &action), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("`transmit_out->struct_size` is 0");
    int rounds = 0, reports = 0, heads = 0, finished = 0, failed_stores = 0;
    int seen[8] = {0};
    uint64_t waiting_round = UINT64_MAX;
    bool sendable = false; /* the last round reported was stored */
    for (int step = 0; step < 10000 && finished < 6; step++) {
        OK(ehr_pipeline_handle_timeout(p, now));
        memset(&a, 0xCD, sizeof a); /* every field is written */
        memset(&action, 0xCD, sizeof action);
        a.struct_size = sizeof a;
        action.struct_size = sizeof action;
        OK(ehr_pipeline_poll_transmit(p, now, &a, &action));
        EXPECT((a.kind == EHR_PIPELINE_TRANSMIT_FLIGHT) == (action.kind != EHR_TRANSMIT_NONE));
        EXPECT(a.kind == EHR_PIPELINE_TRANSMIT_FLIGHT || (a.flight == 0 && action.tag == 0));
        switch (a.kind) {
        case EHR_PIPELINE_TRANSMIT_PERSIST:
            OK(ehr_pipeline_round_entries(p, a.round, &store));
            rounds++;
            waiting_round = a.round; /* stored later, by the storage thread */
            sendable = false;
            break;
        case EHR_PIPELINE_TRANSMIT_READ_HEAD:
            heads++;
            OK(ehr_pipeline_handle_head(p, now, EHR_OK, ++l.head));
            break;
        case EHR_PIPELINE_TRANSMIT_FLIGHT:
            /* Nothing of a round goes out before the round is stored. */
            EXPECT(action.kind != EHR_TRANSMIT_SUBMIT || sendable);
            ledger_answer(&l, p, a.flight, &action, now);
            break;
        default: {
            EXPECT(a.kind == EHR_PIPELINE_TRANSMIT_NONE && a.round == 0);
            if (waiting_round != UINT64_MAX) {
                /* The storage thread reports: the first write fails (the
                 * round is asked for again), the others are durable. */
                ehr_result stored = reports++ == 0 ? EHR_OUTBOX_UNAVAILABLE : EHR_OK;
                q.stored += stored == EHR_OK ? q.queued : 0;
                q.queued = 0;
                sendable = stored == EHR_OK;
                OK(ehr_pipeline_handle_persisted(p, waiting_round, now, stored));
                waiting_round = UINT64_MAX;
                break;
            }
            size_t verdicts = 99;
            ehr_result rc = ehr_pipeline_poll_finished(p, &store, &verdicts);
            finished += (int)verdicts;
            if (rc == EHR_OUTBOX_UNAVAILABLE) {
                /* Kept: still pending, offered again; the ones stored
                 * before the failure wait in poll_ack. */
                failed_stores++;
                EXPECT(verdicts == (together ? 0 : 1) && q.verdicts == (int)verdicts);
                size_t pending = 0;
                bool idle = true;
                OK(ehr_pipeline_pending(p, &pending));
                OK(ehr_pipeline_is_idle(p, &idle));
                EXPECT(pending > 0 && !idle);
                ehr_ack *early = NULL;
                OK(ehr_pipeline_poll_ack(p, &early));
                EXPECT((early != NULL) == !together);
                if (early != NULL) {
                    seen_ack(early, ti_ids, seen);
                }
                continue;
            }
            OK(rc);
            bool has_deadline = false;
            uint64_t deadline = 0;
            OK(ehr_pipeline_poll_timeout(p, &has_deadline, &deadline));
            if (has_deadline) {
                now = deadline > now ? deadline : now + 1;
            }
        }
        }
    }
    EXPECT(finished == 6 && q.verdicts == 6 && l.n == 6 && failed_stores == 1);
    EXPECT(q.acks == 8 && rounds >= 2 && reports >= 2 && q.stored == 6 && heads >= 1);
    size_t pending = 1;
    bool idle = false;
    OK(ehr_pipeline_pending(p, &pending));
    OK(ehr_pipeline_is_idle(p, &idle));
    EXPECT(pending == 0 && idle);
    ehr_ack *ack = NULL;
    while (ehr_pipeline_poll_ack(p, &ack) == EHR_OK && ack != NULL) {
        seen_ack(ack, ti_ids, seen);
    }
    for (int i = 0; i < 8; i++) {
        EXPECT(seen[i] == 1); /* one ACK each, none lost */
    }

    /* A host that stops stores every entry as it stands: the open batch's
     * too. */
    for (int i = 0; i < 2; i++) {
        OK(ehr_handshaker_push(f.hs, p, tis[i], EHR_PRIORITY_BULK, now));
    }
    q.queued = 0;
    OK(ehr_pipeline_entries(p, &store));
    EXPECT(q.queued == 1);
    for (int i = 0; i < 8; i++) {
        ehr_ti_free(tis[i]);
    }
    ehr_pipeline_free(p);
    ehr_validator_config_free(quick);
    fixture_free(&f);
}

static void test_pipeline_in_an_event_loop(void) {
    pipeline_in_an_event_loop(true);
    pipeline_in_an_event_loop(false);
}

/* What a host performing a drain's steps has seen: the keys of the entries
 * it stored, the submissions sent, the ACKs handed on. A host that
 * `keeps_nothing` is asked to store no entry. */
struct drained {
    uint8_t stored_keys[16][32];
    int stored, sent, stores, failed_stores, acks, verdicts;
    bool keeps_nothing;
};

/* Whether `d` stored an entry under `key`. */
static bool drained_stored(const struct drained *d, const uint8_t *key) {
    for (int i = 0; i < d->stored; i++) {
        if (memcmp(d->stored_keys[i], key, 32) == 0) {
            return true;
        }
    }
    return false;
}

/* Steps the drain `run` of `p` on the ledger `l` at `*now`, storing what it
 * asks (the `fail_store`th store fails, 1-based; 0: none), until it asks
 * for nothing but time or ends: that step. The ACKs go to `seen`. */
static ehr_drain_step drain_run_until(ehr_drain_run *run, ehr_pipeline *p, struct ledger *l,
                                      uint64_t *now, struct drained *d, int fail_store,
                                      uint8_t ti_ids[8][32], int seen[8]) {
    for (int i = 0; i < 10000; i++) {
        ehr_drain_step step;
        memset(&step, 0xCD, sizeof step); /* every field is written */
        step.struct_size = sizeof step;
        ehr_pipeline_transmit t = EHR_PIPELINE_TRANSMIT_INIT;
        ehr_transmit a = EHR_TRANSMIT_INIT;
        OK(ehr_drain_run_poll(run, p, *now, false, &step, &t, &a));
        EXPECT((step.kind == EHR_DRAIN_PERFORM) == (t.kind != EHR_PIPELINE_TRANSMIT_NONE));
        EXPECT(t.kind != EHR_PIPELINE_TRANSMIT_PERSIST);
        if (step.kind == EHR_DRAIN_PERFORM) {
            EXPECT(step.entry_count == 0 && step.verdict_count == 0 && step.pending == 0);
            if (t.kind == EHR_PIPELINE_TRANSMIT_READ_HEAD) {
                OK(ehr_pipeline_handle_head(p, *now, EHR_OK, ++l->head));
                continue;
            }
            if (a.kind == EHR_TRANSMIT_SUBMIT) {
                /* Nothing is sent before its entry is stored: a record's
                 * under its TI id, a batch's under its root. */
                const uint8_t *key = a.submission.kind == EHR_ANCHOR_RECORD ? a.submission.id
                                                                              : a.submission.hash;
                EXPECT(d->keeps_nothing || drained_stored(d, key));
                d->sent++;
            }
            ledger_answer(l, p, t.flight, &a, *now);
        } else if (step.kind == EHR_DRAIN_STORE) {
            EXPECT(a.kind == EHR_TRANSMIT_NONE && step.until_ms == 0 && step.stop_cause == 0);
            EXPECT(step.entry_count + step.verdict_count > 0);
            EXPECT(!d->keeps_nothing || step.entry_count == 0);
            const ehr_verdict *verdicts = NULL;
            OK(ehr_drain_run_verdicts(run, &verdicts));
            EXPECT((verdicts == NULL) == (step.verdict_count == 0));
            /* The loop wakes up again before the write has read them: the
             * same store, and what the host holds of it stays valid. */
            ehr_drain_step again = EHR_DRAIN_STEP_INIT;
            ehr_pipeline_transmit t2 = EHR_PIPELINE_TRANSMIT_INIT;
            ehr_transmit a2 = EHR_TRANSMIT_INIT;
            OK(ehr_drain_run_poll(run, p, *now, false, &again, &t2, &a2));
            EXPECT(again.kind == EHR_DRAIN_STORE && again.entry_count == step.entry_count &&
                   again.verdict_count == step.verdict_count);
            const ehr_verdict *same = NULL;
            OK(ehr_drain_run_verdicts(run, &same));
            EXPECT(same == verdicts);
            size_t verdict_acks = 0;
            for (size_t v = 0; v < step.verdict_count; v++) {
                /* Each verdict finishes an entry stored before. */
                EXPECT(verdicts[v].key != NULL &&
                       (d->keeps_nothing || drained_stored(d, verdicts[v].key)));
                verdict_acks += verdicts[v].acks_len;
                for (size_t k = 0; k < verdicts[v].acks_len; k++) {
                    char json[8192];
                    size_t n = 0;
                    OK(ehr_ack_to_json(verdicts[v].acks[k], json, sizeof json, &n));
                    EXPECT(strstr(json, "\"status\":\"valid\"") != NULL);
                }
            }
            if (++d->stores == fail_store) {
                d->failed_stores++;
                size_t acks = 99;
                EXPECT_RC(ehr_drain_run_handle_stored(run, p, *now, EHR_OUTBOX_UNAVAILABLE, 0, &acks),
                          EHR_OUTBOX_UNAVAILABLE);
                EXPECT(acks == 99);
                return step;
            }
            for (size_t e = 0; e < step.entry_count; e++) {
                uint8_t key[32];
                char entry[16384];
                size_t n = 0;
                OK(ehr_drain_run_entry(run, e, key, entry, sizeof entry, &n));
                EXPECT(n == strlen(entry) && strstr(entry, "\"ehrchain.validator/2\"") != NULL);
                if (!drained_stored(d, key) && d->stored < 16) {
                    memcpy(d->stored_keys[d->stored++], key, 32);
                }
            }
            size_t acks = 0;
            OK(ehr_drain_run_handle_stored(run, p, *now, EHR_OK, 0, &acks));
            EXPECT(acks == verdict_acks);
            d->verdicts += (int)step.verdict_count;
            ehr_ack *ack = NULL;
            while (ehr_pipeline_poll_ack(p, &ack) == EHR_OK && ack != NULL) {
                d->acks++;
                seen_ack(ack, ti_ids, seen);
            }
        } else if (step.kind == EHR_DRAIN_WAIT) {
            EXPECT(step.entry_count == 0 && step.verdict_count == 0);
            *now = step.until_ms > *now ? step.until_ms : *now + 1;
        } else {
            return step;
        }
    }
    ehr_drain_step none = EHR_DRAIN_STEP_INIT;
    return none;
}

/* A host with its own event loop follows the core's drain: five urgent
 * records and a batch of three, each round of entries stored before its
 * submissions are sent (the first store fails: the run ends, nothing of it
 * is sent, and the next run stores it again), the verdicts stored with
 * their ACKs, eight ACKs handed on, one per TI pushed. A poll while an
 * action is out awaits it; a deadline or a cancel stops the run only once
 * every entry is stored, with its cause. */
static void test_drain_run_steps(void) {
    struct fake_chain fake;
    struct fixture f = fixture_new(FAKE_CHAIN, &fake);
    ehr_validator_config *quick = quick_validator(1);
    ehr_pipeline *p = NULL;
    OK(ehr_pipeline_new(1337, FAKE_REGISTRY, 0, 3, 0, quick, &p));
    uint64_t now = ehr_clock_now_ms();
    ehr_ti *tis[8];
    uint8_t ti_ids[8][32];
    for (int i = 0; i < 8; i++) {
        tis[i] = bp_ti(f.t, "122");
        OK(ehr_ti_id(tis[i], ti_ids[i]));
        OK(ehr_handshaker_push(f.hs, p, tis[i], i < 5 ? EHR_PRIORITY_URGENT : EHR_PRIORITY_BULK, now));
    }
    struct ledger l;
    memset(&l, 0, sizeof l);
    struct drained d;
    memset(&d, 0, sizeof d);
    int seen[8] = {0};

    ehr_drain_run *run = NULL;
    EXPECT_RC(ehr_drain_run_new(0, true, NULL), EHR_NULL_ARGUMENT);
    OK(ehr_drain_run_new(0, true, &run));
    const ehr_verdict *verdicts = (const ehr_verdict *)&d;
    OK(ehr_drain_run_verdicts(run, &verdicts));
    EXPECT(verdicts == NULL);
    uint8_t key[32];
    char entry[64];
    size_t n = 0;
    EXPECT_RC(ehr_drain_run_entry(run, 0, key, entry, sizeof entry, &n), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("the step has 0 entries");
    /* The first write fails: the run ends, nothing is sent. */
    ehr_drain_step step = drain_run_until(run, p, &l, &now, &d, 1, ti_ids, seen);
    EXPECT(step.kind == EHR_DRAIN_STORE && step.entry_count >= 5 && step.verdict_count == 0);
    EXPECT(d.failed_stores == 1 && d.sent == 0 && l.n == 0);
    ehr_drain_run_free(run);
    OK(ehr_drain_run_new(0, true, &run));
    step = drain_run_until(run, p, &l, &now, &d, 0, ti_ids, seen);
    EXPECT(step.kind == EHR_DRAIN_DRAINED && step.stop_cause == 0 && step.pending == 0);
    EXPECT(step.entry_count == 0 && step.verdict_count == 0 && step.until_ms == 0);
    EXPECT(d.sent == 6 && l.n == 6 && d.stored == 6 && d.verdicts == 6 && d.acks == 8);
    for (int i = 0; i < 8; i++) {
        EXPECT(seen[i] == 1); /* one ACK each, for the TIs pushed */
    }
    size_t pending = 1;
    OK(ehr_pipeline_pending(p, &pending));
    EXPECT(pending == 0);
    ehr_drain_run_free(run);

    /* One more TI: stored, then sent; polled again before the answer, the
     * run awaits it. */
    ehr_ti *late = bp_ti(f.t, "123");
    OK(ehr_handshaker_push(f.hs, p, late, EHR_PRIORITY_URGENT, now));
    OK(ehr_drain_run_new(0, true, &run));
    ehr_pipeline_transmit t = EHR_PIPELINE_TRANSMIT_INIT;
    ehr_transmit a = EHR_TRANSMIT_INIT;
    OK(ehr_drain_run_poll(run, p, now, false, &step, &t, &a));
    EXPECT(step.kind == EHR_DRAIN_STORE && step.entry_count == 1 && step.verdict_count == 0);
    OK(ehr_drain_run_entry(run, 0, key, outbox_entry, sizeof outbox_entry, &n));
    uint8_t late_id[32];
    OK(ehr_ti_id(late, late_id));
    EXPECT(memcmp(key, late_id, 32) == 0);
    EXPECT_RC(ehr_drain_run_entry(run, 0, key, entry, 8, &n), EHR_BUFFER_TOO_SMALL);
    size_t acks = 99;
    OK(ehr_drain_run_handle_stored(run, p, now, EHR_OK, 0, &acks));
    EXPECT(acks == 0);
    OK(ehr_drain_run_poll(run, p, now, false, &step, &t, &a));
    EXPECT(step.kind == EHR_DRAIN_PERFORM && t.kind == EHR_PIPELINE_TRANSMIT_FLIGHT);
    EXPECT(a.kind == EHR_TRANSMIT_SUBMIT && memcmp(a.submission.id, late_id, 32) == 0);
    ehr_pipeline_transmit t2 = EHR_PIPELINE_TRANSMIT_INIT;
    ehr_transmit a2 = EHR_TRANSMIT_INIT;
    OK(ehr_drain_run_poll(run, p, now, false, &step, &t2, &a2));
    EXPECT(step.kind == EHR_DRAIN_AWAITING && t2.kind == EHR_PIPELINE_TRANSMIT_NONE);
    EXPECT(a2.kind == EHR_TRANSMIT_NONE);
    EXPECT_RC(ehr_drain_run_poll(run, NULL, now, false, &step, &t2, &a2), EHR_NULL_ARGUMENT);
    ledger_answer(&l, p, t.flight, &a, now);
    ehr_drain_run_free(run);

    /* The deadline passed (then a cancel): every entry is stored as it
     * stands, asked again until stored; only then does the run stop, with
     * its cause, the TI still held. */
    for (int cancel = 0; cancel < 2; cancel++) {
        OK(ehr_drain_run_new(cancel ? 0 : now, true, &run));
        OK(ehr_drain_run_poll(run, p, now, cancel, &step, &t, &a));
        EXPECT(step.kind == EHR_DRAIN_STORE && step.entry_count == 1 && step.verdict_count == 0);
        OK(ehr_drain_run_poll(run, p, now, cancel, &step, &t, &a));
        EXPECT(step.kind == EHR_DRAIN_STORE && step.entry_count == 1 && step.stop_cause == 0);
        OK(ehr_drain_run_entry(run, 0, key, outbox_entry, sizeof outbox_entry, &n));
        EXPECT(memcmp(key, late_id, 32) == 0 && strstr(outbox_entry, "\"submitted\"") != NULL);
        OK(ehr_drain_run_handle_stored(run, p, now, EHR_OK, 0, &acks));
        OK(ehr_drain_run_poll(run, p, now, cancel, &step, &t, &a));
        EXPECT(step.kind == EHR_DRAIN_DRAINED && step.pending == 1);
        EXPECT(step.stop_cause == (uint32_t)(cancel ? EHR_STOP_CANCELLED : EHR_STOP_DEADLINE));
        EXPECT(t.kind == EHR_PIPELINE_TRANSMIT_NONE && a.kind == EHR_TRANSMIT_NONE);
        ehr_drain_run_free(run);
    }
    ehr_drain_run_free(NULL);

    /* A TI refused before anything was stored: its verdict (no key, one
     * invalid ACK) is stored like the others; when that store fails it is
     * given back to the pipeline, so the next run stores it, and only then
     * does its ACK come out. */
    ehr_pipeline *q = NULL;
    OK(ehr_pipeline_new(1337, FAKE_REGISTRY, 0, 3, 0, quick, &q));
    ehr_ti *refused = bp_ti(f.t, "420");
    uint8_t refused_id[32];
    OK(ehr_ti_id(refused, refused_id));
    OK(ehr_handshaker_push(f.hs, q, refused, EHR_PRIORITY_URGENT, now));
    for (int attempt = 0; attempt < 2; attempt++) {
        OK(ehr_drain_run_new(0, true, &run));
        OK(ehr_drain_run_poll(run, q, now, false, &step, &t, &a));
        EXPECT(step.kind == EHR_DRAIN_STORE && step.entry_count == 0 && step.verdict_count == 1);
        OK(ehr_drain_run_verdicts(run, &verdicts));
        EXPECT(verdicts != NULL && verdicts[0].key == NULL && verdicts[0].acks_len == 1);
        ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
        OK(ehr_ack_to_summary(verdicts[0].acks[0], &s));
        EXPECT(!s.valid && memcmp(s.ti_id, refused_id, 32) == 0);
        ehr_ack *out = NULL;
        acks = 99;
        if (attempt == 0) {
            EXPECT_RC(ehr_drain_run_handle_stored(run, q, now, EHR_OUTBOX_UNAVAILABLE, 0, &acks),
                      EHR_OUTBOX_UNAVAILABLE);
            EXPECT(acks == 99);
            OK(ehr_pipeline_poll_ack(q, &out));
            EXPECT(out == NULL);
        } else {
            OK(ehr_drain_run_handle_stored(run, q, now, EHR_OK, 0, &acks));
            EXPECT(acks == 1);
            OK(ehr_drain_run_poll(run, q, now, false, &step, &t, &a));
            EXPECT(step.kind == EHR_DRAIN_DRAINED && step.stop_cause == 0 && step.pending == 0);
            OK(ehr_pipeline_poll_ack(q, &out));
            EXPECT(out != NULL);
            OK(ehr_ack_to_summary(out, &s));
            EXPECT(!s.valid && memcmp(s.ti_id, refused_id, 32) == 0);
            ehr_ack_free(out);
        }
        ehr_drain_run_free(run);
    }
    /* Two refused TIs' verdicts in one store, a finish each: the first is
     * stored, then the disk is full. Its ACK waits for poll_ack; only the
     * other is offered again, so none is stored twice. */
    ehr_ti *pair[2] = {bp_ti(f.t, "421"), bp_ti(f.t, "422")};
    for (int i = 0; i < 2; i++) {
        OK(ehr_handshaker_push(f.hs, q, pair[i], EHR_PRIORITY_URGENT, now));
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        OK(ehr_drain_run_new(0, true, &run));
        OK(ehr_drain_run_poll(run, q, now, false, &step, &t, &a));
        EXPECT(step.kind == EHR_DRAIN_STORE && step.verdict_count == (size_t)(2 - attempt));
        acks = 99;
        if (attempt == 0) {
            EXPECT_RC(ehr_drain_run_handle_stored(run, q, now, EHR_OUTBOX_UNAVAILABLE, 1, &acks),
                      EHR_OUTBOX_UNAVAILABLE);
            EXPECT(acks == 99);
        } else {
            OK(ehr_drain_run_handle_stored(run, q, now, EHR_OK, 0, &acks));
            EXPECT(acks == 1);
        }
        ehr_ack *out = NULL;
        OK(ehr_pipeline_poll_ack(q, &out));
        EXPECT(out != NULL);
        if (out != NULL) {
            ehr_ack_summary s = EHR_ACK_SUMMARY_INIT;
            OK(ehr_ack_to_summary(out, &s));
            uint8_t id[32];
            OK(ehr_ti_id(pair[attempt], id));
            EXPECT(!s.valid && memcmp(s.ti_id, id, 32) == 0);
            ehr_ack_free(out);
        }
        OK(ehr_pipeline_poll_ack(q, &out));
        EXPECT(out == NULL);
        ehr_drain_run_free(run);
    }
    ehr_ti_free(pair[0]);
    ehr_ti_free(pair[1]);
    ehr_ti_free(refused);
    ehr_pipeline_free(q);

    /* A host that keeps no entries: the rounds go out at once, without a
     * store step, and a store is asked only for verdicts; every ACK out. */
    ehr_pipeline *r = NULL;
    OK(ehr_pipeline_new(1337, FAKE_REGISTRY, 0, 3, 0, quick, &r));
    ehr_ti *unkept[8];
    uint8_t unkept_ids[8][32];
    int unkept_seen[8] = {0};
    for (int i = 0; i < 8; i++) {
        unkept[i] = bp_ti(f.t, "125");
        OK(ehr_ti_id(unkept[i], unkept_ids[i]));
        OK(ehr_handshaker_push(f.hs, r, unkept[i], i < 5 ? EHR_PRIORITY_URGENT : EHR_PRIORITY_BULK,
                               now));
    }
    struct drained nothing_kept;
    memset(&nothing_kept, 0, sizeof nothing_kept);
    nothing_kept.keeps_nothing = true;
    OK(ehr_drain_run_new(0, false, &run));
    OK(ehr_drain_run_poll(run, r, now, false, &step, &t, &a));
    EXPECT(step.kind == EHR_DRAIN_PERFORM && a.kind == EHR_TRANSMIT_SUBMIT);
    ledger_answer(&l, r, t.flight, &a, now);
    nothing_kept.sent = 1;
    step = drain_run_until(run, r, &l, &now, &nothing_kept, 0, unkept_ids, unkept_seen);
    EXPECT(step.kind == EHR_DRAIN_DRAINED && step.stop_cause == 0 && step.pending == 0);
    EXPECT(nothing_kept.sent == 6 && nothing_kept.stored == 0 && nothing_kept.acks == 8);
    EXPECT(nothing_kept.stores >= 1 && nothing_kept.verdicts == 6);
    for (int i = 0; i < 8; i++) {
        EXPECT(unkept_seen[i] == 1);
        ehr_ti_free(unkept[i]);
    }
    ehr_drain_run_free(run);
    ehr_pipeline_free(r);

    ehr_ti_free(late);
    for (int i = 0; i < 8; i++) {
        ehr_ti_free(tis[i]);
    }
    ehr_pipeline_free(p);
    ehr_validator_config_free(quick);
    fixture_free(&f);
}

/* A signed record's proof (format version 2, docs/vectors/signed_proofs.json's
 * first valid vector): read from its QR text, checked on its own and against
 * the chain's anchor and role history (JSON, as a host reads them), and
 * refused for another registry and for an author without the role. */
static void test_signed_record_proofs(void) {
    static const char TEXT[] =
    "EHRP:6Y8CIAHB0000000500XA7.G8.G8.G8.G8.G8.G8.G8.G8.G8$F8H12H12H12H12H12H12H12H12H12H12H12H"
    "12H12H12H12$32R:FR:FR:FR:FR:FR:FR:FR:FR:FR:FR:FR:FR:FR:FR:FN.FY24Y24Y24Y24Y24Y24Y24Y24Y24Y"
    "24Y24Y24Y24Y24Y24.34KZAKZAKZAKZAKZAKZAKZAKZAKZAKZAKZAKZAKZAKZAKZAZXA*PU1CPARK65G/37W$JK-FG"
    "KJ +LRPLL*5::2%PDY5VQAT.-3.TC:Z1IK7U$8V$LM77FKEWVMT611LU000F20R$AEGL7R8V%RPLHG HFF8EDUU04T"
    "O2D$CHBG53RMFDRWJ01UN+T6XK.NR$KO-BEHCKQ13N-H%*FJMQ+CR+DNB 6OEQJORUGI2CK9J3CRNCRNCRNCRNCRNC"
    "RNCRNCRNCRNCRNCRNCRNCRNCRNCRNCRNQEK75OYOHCPNDGH5TEFRI$W0X/CY509F29+SSV5%O55NKO4B0003000000"
    "00HB0FWF8KRN%3ZBFH%32+9YNL+8QI:N $SAMOHIAU3D12B8$O4O1.2L2LP:47H16Q67:%75TC2CN% ERFSOD1TRB."
    "Z218FX58Q2";
    static const char ANCHOR[] =
    "{\"domain\":{\"chainId\":1337,\"registry\":\"0x4242424242424242424242424242424242424242\"},\"batch\""
    ":{\"root\":\"0xa0c4bec08ad3ba60895673dc933005c5669c0103127ee48d2d1c2beba24457cf\",\"leafCount\":"
    "3,\"batchId\":\"0xbabababababababababababababababababababababababababababababababa\"},\"anchore"
    "dAt\":1767225600000}";
    static const char ROLES[] =
    "{\"allowed\":[{\"templateId\":\"0x7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7"
    "e7e\",\"role\":\"0x0af1dac7dea2fd7f7738119cec7df099dfad49aa9d2e7d17ba6b60f63ae7411f\"}],\"terms\""
    ":[{\"role\":\"0x0af1dac7dea2fd7f7738119cec7df099dfad49aa9d2e7d17ba6b60f63ae7411f\",\"account\":\""
    "0x1a642f0e3c3af545e7acbd38b07251b3990914f1\",\"grantedAt\":1767000000000,\"revokedAt\":null},{\""
    "role\":\"0x0af1dac7dea2fd7f7738119cec7df099dfad49aa9d2e7d17ba6b60f63ae7411f\",\"account\":\"0x50"
    "50a4f4b3f9338c3472dcc01a87c76a144b3c9c\",\"grantedAt\":1767000000000,\"revokedAt\":null}]}";
    static const char NO_TERMS[] =
    "{\"allowed\":[{\"templateId\":\"0x7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7"
    "e7e\",\"role\":\"0x0af1dac7dea2fd7f7738119cec7df099dfad49aa9d2e7d17ba6b60f63ae7411f\"}],\"terms\""
    ":[]}";
    static const char OTHER_REGISTRY[] =
    "{\"domain\":{\"chainId\":1337,\"registry\":\"0x4343434343434343434343434343434343434343\"},\"batch\""
    ":{\"root\":\"0xa0c4bec08ad3ba60895673dc933005c5669c0103127ee48d2d1c2beba24457cf\",\"leafCount\":"
    "3,\"batchId\":\"0xbabababababababababababababababababababababababababababababababa\"},\"anchore"
    "dAt\":1767225600000}";
    ehr_signed_proof *proof = NULL;
    OK(ehr_signed_proof_from_text(TEXT, strlen(TEXT), &proof));
    OK(ehr_signed_proof_verify(proof));
    OK(ehr_signed_proof_verify_anchored(proof, ANCHOR, strlen(ANCHOR), ROLES, strlen(ROLES)));
    char json[4096];
    size_t n = 0;
    OK(ehr_signed_proof_to_json(proof, json, sizeof json, &n));
    EXPECT(strstr(json, "\"author\": \"0x1a642f0e3c3af545e7acbd38b07251b3990914f1\"") != NULL);
    EXPECT_RC(ehr_signed_proof_verify_anchored(proof, ANCHOR, strlen(ANCHOR), NO_TERMS, strlen(NO_TERMS)),
              EHR_AUTHOR_ROLE_NOT_HELD);
    EXPECT_LAST_ERROR("did not hold role");
    EXPECT_RC(ehr_signed_proof_verify_anchored(proof, OTHER_REGISTRY, strlen(OTHER_REGISTRY), ROLES,
                                               strlen(ROLES)),
              EHR_SIGNATURE_WRONG_SIGNER);
    EXPECT_RC(ehr_signed_proof_verify(NULL), EHR_NULL_ARGUMENT);
    ehr_signed_proof_free(proof);
    ehr_signed_proof_free(NULL);

    /* A version 1 proof is not a signed record's proof. */
    ehr_signed_proof *v1 = NULL;
    ehr_proof *bad_v1 = NULL;
    static const char V1[] = "EHRP:6Y8CIAAB0R0WQNMDLODLT75I-IKH9JW8WNT66LH3%K911VPC-8A1H8F-J46B3+8PL09D1J7E/*0A3I+9U+9VMHRG/P59OR647X7PDTT0GEOB+ET.S4ELLQWK8/0BX0K I995H4THJB5+0ZXT4W32CCZQJ000V50000000";
    EXPECT_RC(ehr_signed_proof_from_text(LIT(V1), &v1), EHR_PROOF_UNSUPPORTED);
    EXPECT(v1 == NULL);
    /* Empty text is a malformed proof, as for ehr_proof_from_text. */
    EXPECT_RC(ehr_signed_proof_from_text(NULL, 0, &v1), EHR_PROOF_MALFORMED);
    EXPECT_RC(ehr_proof_from_text(NULL, 0, &bad_v1), EHR_PROOF_MALFORMED);
    EXPECT(v1 == NULL && bad_v1 == NULL);
}

/* A blood-pressure TC whose statement `author` signed with `key`. */
static ehr_ti *signed_bp_tc(struct fixture *f, const char *systolic, const ehr_signer *key,
                            ehr_tc **signed_tc) {
    ehr_tc *tc = NULL;
    ehr_ti *ti = bp_tc(f, systolic, &tc);
    uint8_t author[20], digest[32], signature[65];
    OK(ehr_signer_address(key, author));
    OK(ehr_tc_signing_digest(tc, author, digest));
    OK(ehr_signer_sign_digest(key, digest, signature));
    OK(ehr_tc_attach_signature(tc, author, signature, 65, signed_tc));
    ehr_tc_free(tc);
    return ti;
}

/* Many authors' signed TCs under one root: each record's signed proof
 * names its author and verifies; an unsigned TC, or one signed for another
 * registry, is refused and adds nothing; the anchoring call is
 * anchorSignedBatch(root, leafCount, batchId) to the registry. */
static void test_signed_batches(void) {
    uint8_t secrets[2][32];
    memset(secrets[0], 0x31, 32);
    memset(secrets[1], 0x32, 32);
    struct fixture f = fixture_new(DEVNET, NULL);
    uint64_t chain_id = 0;
    uint8_t registry[20], elsewhere[20];
    OK(ehr_transport_chain(f.chain, &chain_id, registry));
    memcpy(elsewhere, registry, 20);
    elsewhere[19] ^= 1;
    ehr_signer *keys[2] = {NULL, NULL};
    ehr_tc *tcs[3] = {NULL, NULL, NULL}, *plain = NULL;
    ehr_ti *tis[4];
    for (int k = 0; k < 2; k++) {
        OK(ehr_signer_new_local(secrets[k], &keys[k]));
    }
    tis[0] = signed_bp_tc(&f, "141", keys[0], &tcs[0]);
    tis[1] = signed_bp_tc(&f, "142", keys[1], &tcs[1]);
    tis[2] = signed_bp_tc(&f, "143", keys[0], &tcs[2]);
    tis[3] = bp_tc(&f, "144", &plain);

    ehr_signed_batch_builder *builder = NULL, *other = NULL;
    OK(ehr_signed_batch_builder_new(chain_id, registry, &builder));
    OK(ehr_signed_batch_builder_new(chain_id, elsewhere, &other));
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t index = 99;
        OK(ehr_signed_batch_builder_push(builder, tcs[i], &index));
        EXPECT(index == i);
    }
    uint32_t index = 99;
    EXPECT_RC(ehr_signed_batch_builder_push(builder, plain, &index), EHR_TC_NOT_SIGNED);
    EXPECT_LAST_ERROR("carries no author's signature");
    EXPECT_RC(ehr_signed_batch_builder_push(other, tcs[0], &index), EHR_SIGNATURE_WRONG_SIGNER);
    EXPECT_RC(ehr_signed_batch_builder_push(builder, tcs[1], &index), EHR_BATCH_DUPLICATE_TI);
    EXPECT_LAST_ERROR("is in this batch already");
    EXPECT(index == 99);
    size_t len = 0;
    OK(ehr_signed_batch_builder_len(builder, &len));
    EXPECT(len == 3);
    OK(ehr_signed_batch_builder_len(other, &len));
    EXPECT(len == 0);
    uint8_t batch_id[32];
    memset(batch_id, 0x5b, 32);
    ehr_signed_batch *batch = NULL, *empty = NULL;
    EXPECT_RC(ehr_signed_batch_builder_build(other, batch_id, &empty), EHR_BATCH_EMPTY);
    OK(ehr_signed_batch_builder_build(builder, batch_id, &batch));

    uint8_t root[32];
    uint32_t leaf_count = 0;
    OK(ehr_signed_batch_root(batch, root, &leaf_count));
    EXPECT(leaf_count == 3);
    char json[4096], hex[2 + 2 * 32 + 1], field[200];
    size_t n = 0;
    for (uint32_t i = 0; i < 3; i++) {
        ehr_signed_proof *proof = NULL;
        OK(ehr_signed_batch_proof(batch, i, &proof));
        OK(ehr_signed_proof_verify(proof));
        OK(ehr_signed_proof_to_json(proof, json, sizeof json, &n));
        uint8_t ti_id[32], author[20];
        OK(ehr_tc_ti_id(tcs[i], ti_id));
        snprintf(field, sizeof field, "\"tiId\": \"%s\"", to_hex(hex, ti_id, 32));
        EXPECT(strstr(json, field) != NULL);
        OK(ehr_signer_address(keys[i == 1], author));
        snprintf(field, sizeof field, "\"author\": \"%s\"", to_hex(hex, author, 20));
        EXPECT(strstr(json, field) != NULL);
        snprintf(field, sizeof field, "\"root\": \"%s\"", to_hex(hex, root, 32));
        EXPECT(strstr(json, field) != NULL);
        ehr_signed_proof_free(proof);
    }
    ehr_signed_proof *none = NULL;
    EXPECT_RC(ehr_signed_batch_proof(batch, 3, &none), EHR_BATCH_NO_SUCH_RECORD);
    EXPECT(none == NULL);

    OK(ehr_signed_batch_anchor_transaction(batch, json, sizeof json, &n));
    EXPECT(n == strlen(json));
    EXPECT(strstr(json, "\"leafCount\":3") != NULL);
    for (char *c = json; *c != '\0'; c++) {
        *c = (char)tolower((unsigned char)*c); /* `to` is EIP-55 checksummed */
    }
    snprintf(field, sizeof field, "\"to\":\"%s\"", to_hex(hex, registry, 20));
    EXPECT(strstr(json, field) != NULL);
    /* The call's words: root, leaf count, batch id, after the selector. */
    char words[2 + 8 + 3 * 64 + 1];
    snprintf(words, sizeof words, "%.10s%s", strstr(json, "\"calldata\":\"") + 12,
             to_hex(hex, root, 32) + 2);
    EXPECT(strstr(json, words) != NULL);
    EXPECT(strstr(json, "00000000000000000000000000000000000000000000000000000000000000035b5b") != NULL);
    EXPECT_RC(ehr_signed_batch_anchor_transaction(batch, json, 8, &n), EHR_BUFFER_TOO_SMALL);

    ehr_signed_batch_free(batch);
    ehr_signed_batch_free(NULL);
    ehr_signed_batch_builder_free(other);
    ehr_signed_batch_builder_free(builder);
    ehr_signed_batch_builder_free(NULL);
    ehr_tc_free(plain);
    for (int i = 0; i < 3; i++) {
        ehr_tc_free(tcs[i]);
    }
    for (int i = 0; i < 4; i++) {
        ehr_ti_free(tis[i]);
    }
    for (int k = 0; k < 2; k++) {
        ehr_signer_free(keys[k]);
    }
    fixture_free(&f);
}

/* ------------------------------------------------------------ capsules */

/* A recipient's key store behind callbacks (an HSM, say): it holds one
 * private key, answers for its key id only, or fails. */
struct host_recipient {
    uint8_t key_id[32];
    uint8_t private_key[32];
    int any_id; /* answer with its key whatever the id asked for */
    int fail;
    int calls;
};

static ehr_result host_no_master_key(void *userdata, const char *key_id, size_t key_id_len,
                                     uint8_t *key_out) {
    (void)userdata, (void)key_id, (void)key_id_len, (void)key_out;
    return EHR_KEY_UNKNOWN;
}

static ehr_result host_recipient_key(void *userdata, const uint8_t *key_id, uint32_t suite,
                                     uint8_t *key_out) {
    struct host_recipient *h = userdata;
    h->calls++;
    if (h->fail) {
        return EHR_KEY_STORE_UNAVAILABLE;
    }
    if (suite != EHR_CAPSULE_SUITE_X_WING && suite != EHR_CAPSULE_SUITE_X25519) {
        return EHR_INVALID_ARGUMENT;
    }
    if (!h->any_id && memcmp(key_id, h->key_id, 32) != 0) {
        return EHR_KEY_UNKNOWN;
    }
    memcpy(key_out, h->private_key, 32);
    return EHR_OK;
}

/* An HSM-like key store over `host`: recipient keys through
 * host_recipient_key, no master key. */
static ehr_key_store *recipient_key_store(struct host_recipient *host) {
    ehr_key_store_callbacks cb = {.struct_size = sizeof cb,
                                  .userdata = host,
                                  .master_key = host_no_master_key,
                                  .recipient_key = host_recipient_key};
    ehr_key_store *keys = NULL;
    OK(ehr_key_store_new_callbacks(&cb, &keys));
    return keys;
}

/* One suite: a holder seals a record's key for a recipient, who opens it
 * from an in-memory store and from an HSM-like callback store; every
 * refusal has its code. */
static void capsule_round_trip(uint32_t suite, size_t public_len, size_t capsule_len) {
    ehr_key_store *holder = memory_keys();
    uint8_t zero[32] = {0};
    uint8_t envelope[256];
    size_t envelope_len = 0;
    OK(ehr_envelope_seal(holder, SEALING, strlen(SEALING), zero, zero, zero,
                         (const uint8_t *)"K 4.1 mmol/L", 12, envelope, sizeof envelope,
                         &envelope_len));
    ehr_capsule_binding binding = EHR_CAPSULE_BINDING_INIT;
    binding.chain_id = 31337;
    binding.authority = EHR_AUTHORITY_GRANT;
    memset(binding.registry, 0xee, sizeof binding.registry);
    memset(binding.recipient, 0xaa, sizeof binding.recipient);
    memset(binding.grant_id, 0x42, sizeof binding.grant_id);
    OK(ehr_envelope_record_hash(envelope, envelope_len, binding.record_hash));

    /* The recipient's key pair and key id. */
    struct host_recipient host = {{0}, {0}, 0, 0, 0};
    OK(ehr_recipient_key_generate(suite, host.private_key));
    uint8_t public_key[1216];
    size_t n = 0;
    EXPECT_RC(ehr_recipient_public_key(suite, host.private_key, NULL, 0, &n), EHR_BUFFER_TOO_SMALL);
    EXPECT(n == public_len);
    OK(ehr_recipient_public_key(suite, host.private_key, public_key, sizeof public_key, &n));
    EXPECT(n == public_len);
    OK(ehr_recipient_key_id(suite, public_key, public_len, host.key_id));

    /* Sealed, written out, read back: its header says what it was made for. */
    ehr_capsule *sealed = NULL;
    OK(ehr_capsule_seal(holder, envelope, envelope_len, &binding, suite, public_key, public_len,
                        &sealed));
    uint8_t bytes[1400];
    OK(ehr_capsule_to_bytes(sealed, bytes, sizeof bytes, &n));
    EXPECT(n == capsule_len && memcmp(bytes, "EHRK\x01", 5) == 0 && bytes[5] == suite);
    ehr_capsule_free(sealed);
    ehr_capsule *capsule = NULL;
    OK(ehr_capsule_from_bytes(bytes, capsule_len, &capsule));
    ehr_capsule_summary summary = EHR_CAPSULE_SUMMARY_INIT;
    OK(ehr_capsule_to_summary(capsule, &summary));
    EXPECT(summary.suite == suite);
    EXPECT(memcmp(summary.recipient_key_id, host.key_id, 32) == 0);
    EXPECT(summary.binding.chain_id == 31337 && summary.binding.authority == EHR_AUTHORITY_GRANT);
    EXPECT(memcmp(summary.binding.record_hash, binding.record_hash, 32) == 0);
    EXPECT(memcmp(summary.binding.grant_id, binding.grant_id, 32) == 0);
    EXPECT(memcmp(summary.binding.recipient, binding.recipient, 20) == 0);

    /* Opened from an in-memory store: the record key, then the record. */
    ehr_key_store *mem = NULL;
    OK(ehr_key_store_new(&mem));
    OK(ehr_key_store_insert_recipient_key(mem, suite, host.private_key));
    uint8_t record_key[32];
    OK(ehr_capsule_open(capsule, mem, &binding, record_key));
    ehr_capsule_binding unsized = binding;
    unsized.struct_size = 0;
    EXPECT_RC(ehr_capsule_open(capsule, mem, &unsized, record_key), EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("`expected->struct_size` is 0, but an ehr_capsule_binding is at least");
    char record[64];
    OK(ehr_capsule_open_envelope(capsule, mem, &binding, envelope, envelope_len, (uint8_t *)record,
                                 sizeof record, &n));
    EXPECT(n == 12 && memcmp(record, "K 4.1 mmol/L", 12) == 0);

    /* Opened through the callbacks, asked for the capsule's key id. */
    ehr_key_store *hsm = recipient_key_store(&host);
    EXPECT_RC(ehr_key_store_insert_recipient_key(hsm, suite, host.private_key),
              EHR_INVALID_ARGUMENT);
    memset(record, 0, sizeof record);
    OK(ehr_capsule_open_envelope(capsule, hsm, &binding, envelope, envelope_len, (uint8_t *)record,
                                 sizeof record, &n));
    EXPECT(n == 12 && memcmp(record, "K 4.1 mmol/L", 12) == 0 && host.calls == 1);
    host.fail = 1;
    EXPECT_RC(ehr_capsule_open(capsule, hsm, &binding, record_key), EHR_KEY_STORE_UNAVAILABLE);
    host.fail = 0;

    /* A key the store does not hold; another key given for the id. */
    ehr_key_store *other = NULL;
    OK(ehr_key_store_new(&other));
    uint8_t other_key[32];
    OK(ehr_recipient_key_generate(suite, other_key));
    OK(ehr_key_store_insert_recipient_key(other, suite, other_key));
    EXPECT_RC(ehr_capsule_open(capsule, other, &binding, record_key), EHR_CAPSULE_WRONG_KEY);
    EXPECT_LAST_ERROR("which this key store does not hold");
    memcpy(host.private_key, other_key, 32);
    host.any_id = 1;
    EXPECT_RC(ehr_capsule_open(capsule, hsm, &binding, record_key), EHR_CAPSULE_WRONG_KEY);
    ehr_key_store_callbacks no_recipient = EHR_KEY_STORE_CALLBACKS_INIT;
    no_recipient.userdata = &host;
    no_recipient.master_key = host_no_master_key;
    ehr_key_store *masters_only = NULL;
    OK(ehr_key_store_new_callbacks(&no_recipient, &masters_only));
    EXPECT_RC(ehr_capsule_open(capsule, masters_only, &binding, record_key), EHR_NULL_ARGUMENT);
    /* An older host's struct, before `recipient_key`: the callback is absent. */
    const ehr_key_store_callbacks *v1 = key_store_callbacks_v1(&host, host_no_master_key);
    ehr_key_store *old_host = NULL;
    OK(ehr_key_store_new_callbacks(v1, &old_host));
    free((void *)v1);
    EXPECT_RC(ehr_capsule_open(capsule, old_host, &binding, record_key), EHR_NULL_ARGUMENT);
    ehr_key_store_free(old_host);

    /* Another disclosure expected; another envelope; a flipped tag bit. */
    ehr_capsule_binding emergency = binding;
    emergency.authority = EHR_AUTHORITY_EMERGENCY;
    memset(emergency.grant_id, 0, 32);
    EXPECT_RC(ehr_capsule_open(capsule, mem, &emergency, record_key), EHR_CAPSULE_WRONG_BINDING);
    uint8_t other_envelope[256];
    size_t other_len = 0;
    OK(ehr_envelope_seal(holder, SEALING, strlen(SEALING), zero, zero, zero,
                         (const uint8_t *)"other", 5, other_envelope, sizeof other_envelope,
                         &other_len));
    EXPECT_RC(ehr_capsule_open_envelope(capsule, mem, &binding, other_envelope, other_len,
                                        (uint8_t *)record, sizeof record, &n),
              EHR_CAPSULE_WRONG_BINDING);
    bytes[capsule_len - 1] ^= 1;
    ehr_capsule *tampered = NULL;
    OK(ehr_capsule_from_bytes(bytes, capsule_len, &tampered));
    EXPECT_RC(ehr_capsule_open(tampered, mem, &binding, record_key), EHR_CAPSULE_TAMPERED);
    ehr_capsule_free(tampered);

    /* Malformed and unsupported capsules; empty is truncated. */
    ehr_capsule *bad = NULL;
    EXPECT_RC(ehr_capsule_from_bytes(bytes, capsule_len - 1, &bad), EHR_CAPSULE_MALFORMED);
    EXPECT_RC(ehr_capsule_from_bytes(NULL, 0, &bad), EHR_CAPSULE_MALFORMED);
    bytes[5] = 9;
    EXPECT_RC(ehr_capsule_from_bytes(bytes, capsule_len, &bad), EHR_CAPSULE_UNSUPPORTED);
    EXPECT(bad == NULL);

    /* The holder's refusals: another record, another master key, a bad
     * public key, an unknown suite, an emergency with a grant id. */
    EXPECT_RC(ehr_capsule_seal(holder, other_envelope, other_len, &binding, suite, public_key,
                               public_len, &bad),
              EHR_CAPSULE_WRONG_BINDING);
    ehr_key_store *wrong_master = NULL;
    OK(ehr_key_store_new(&wrong_master));
    OK(ehr_key_store_insert(wrong_master, SEALING, strlen(SEALING), PSEUDONYM_KEY));
    EXPECT_RC(ehr_capsule_seal(wrong_master, envelope, envelope_len, &binding, suite, public_key,
                               public_len, &bad),
              EHR_ENVELOPE_WRONG_KEY);
    EXPECT_RC(ehr_capsule_seal(holder, envelope, envelope_len, &binding, suite, public_key,
                               public_len - 1, &bad),
              EHR_RECIPIENT_KEY_INVALID);
    EXPECT_RC(ehr_capsule_seal(holder, envelope, envelope_len, &binding, 3, public_key, public_len,
                               &bad),
              EHR_INVALID_ARGUMENT);
    emergency.grant_id[0] = 1;
    EXPECT_RC(ehr_capsule_seal(holder, envelope, envelope_len, &emergency, suite, public_key,
                               public_len, &bad),
              EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("EHR_AUTHORITY_EMERGENCY (1) with a zero grant id");
    EXPECT(bad == NULL);
    EXPECT_RC(ehr_capsule_open(NULL, mem, &binding, record_key), EHR_NULL_ARGUMENT);
    EXPECT_RC(ehr_capsule_open(capsule, mem, &binding, NULL), EHR_NULL_ARGUMENT);
    EXPECT_RC(ehr_recipient_key_generate(0, other_key), EHR_INVALID_ARGUMENT);

    ehr_key_store_free(wrong_master);
    ehr_key_store_free(masters_only);
    ehr_key_store_free(other);
    ehr_key_store_free(hsm);
    ehr_key_store_free(mem);
    ehr_capsule_free(capsule);
    ehr_capsule_free(NULL);
    ehr_key_store_free(holder);
}

static void test_key_capsules(void) {
    capsule_round_trip(EHR_CAPSULE_SUITE_X_WING, 1216, 1319);
    capsule_round_trip(EHR_CAPSULE_SUITE_X25519, 32, 231);
}

/* ------------------------------------------------------------- sharing */

/* `n` bytes as 0x-prefixed hex, NUL-terminated, at `out` (2n + 3 chars). */
static char *to_hex(char *out, const uint8_t *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    char *p = out;
    *p++ = '0';
    *p++ = 'x';
    for (size_t i = 0; i < n; i++) {
        *p++ = digits[bytes[i] >> 4];
        *p++ = digits[bytes[i] & 15];
    }
    *p = '\0';
    return out;
}

/* What EhrConsent says at block 10 (time 1,700,000,000 s): whether the
 * recipient may receive the record, under which grant, and the state of the
 * grant the check expects. */
struct consent_view {
    int exists; /* the grant is known (else grantOf reads all zeros) */
    int allowed;
    int revoked;
    uint8_t grant_id[32];
    uint8_t subject[32];
    uint8_t recipient[20];
};

/* One ABI word at `w`: `n` bytes right-aligned. */
static uint8_t *abi_word(uint8_t *w, const uint8_t *bytes, size_t n) {
    memset(w, 0, 32);
    memcpy(w + 32 - n, bytes, n);
    return w + 32;
}

/* The answers JSON of a check's reads: `mayReceive` and `grantOf` from
 * `view`, then `third` (`recipientKeyOf`, `recordHashOf` or `batchOf`: at
 * most three words). */
static void answers_json(char *out, size_t cap, const struct consent_view *view,
                         const uint8_t *third, size_t third_len) {
    uint8_t may[64], grant[128];
    uint8_t allowed = (uint8_t)view->allowed, revoked = (uint8_t)view->revoked;
    uint8_t expires[8] = {0, 0, 0, 0, 0x77, 0x35, 0x94, 0x00}; /* 2,000,000,000 s */
    uint8_t zero[32] = {0};
    abi_word(abi_word(may, &allowed, 1), view->allowed ? view->grant_id : zero, 32);
    uint8_t *w = abi_word(grant, view->subject, 32);
    w = abi_word(abi_word(w, view->recipient, 20), expires, 8);
    abi_word(w, &revoked, 1);
    if (!view->exists) {
        memset(grant, 0, sizeof grant);
    }
    char a[131], b[259], c[2 * 96 + 3];
    snprintf(out, cap,
             "{\"block\": {\"number\": 10, \"time\": 1700000000000}, \"answers\": [\"%s\", \"%s\", "
             "\"%s\"]}",
             to_hex(a, may, sizeof may), to_hex(b, grant, sizeof grant),
             to_hex(c, third, third_len));
}

/* How many reads a reads JSON lists. */
static int count_reads(const char *json) {
    int n = 0;
    for (const char *p = json; (p = strstr(p, "\"calldata\"")) != NULL; p++) {
        n++;
    }
    return n;
}

/* A recipient's X25519 key pair in `host`, its public key, and what it
 * publishes (key id, then SHA-256). */
static void recipient_keys(struct host_recipient *host, uint8_t public_key[32],
                           uint8_t published[64]) {
    uint32_t suite = EHR_CAPSULE_SUITE_X25519;
    size_t n = 0;
    OK(ehr_recipient_key_generate(suite, host->private_key));
    OK(ehr_recipient_public_key(suite, host->private_key, public_key, 32, &n));
    OK(ehr_recipient_key_id(suite, public_key, 32, host->key_id));
    memcpy(published, host->key_id, 32);
    OK(ehr_recipient_key_hash(suite, public_key, 32, published + 32));
}

/* The recipient's check of `record_hash` (of `envelope`) as the second of a
 * two-record batch, with a capsule sealed under `view`'s grant. */
static void test_sharing_batched(const ehr_sharing_context *context,
                                 const struct consent_view *view, const uint8_t *envelope,
                                 size_t envelope_len, const uint8_t *record_hash) {
    ehr_key_store *holder = memory_keys();
    uint8_t other[32], batch_id[32];
    memset(other, 0x31, 32);
    memset(batch_id, 0xba, 32);
    ehr_batch_builder *builder = NULL;
    ehr_batch *batch = NULL;
    uint32_t index = 0;
    OK(ehr_batch_builder_new(&builder));
    OK(ehr_batch_builder_push(builder, other, &index));
    OK(ehr_batch_builder_push(builder, record_hash, &index));
    OK(ehr_batch_builder_build(builder, batch_id, &batch));
    ehr_batch_builder_free(builder);
    ehr_proof *proof = NULL, *wrong = NULL;
    OK(ehr_batch_proof(batch, 1, &proof));
    OK(ehr_batch_proof(batch, 0, &wrong));
    ehr_batch_free(batch);

    /* A capsule for the recipient (the holder's check, as above). */
    uint32_t suite = EHR_CAPSULE_SUITE_X25519;
    struct host_recipient host = {{0}, {0}, 0, 0, 0};
    uint8_t public_key[32], published[64];
    size_t n = 0;
    recipient_keys(&host, public_key, published);
    ehr_share_check *share_check = NULL;
    OK(ehr_share_check_new(context, envelope, envelope_len, view->recipient, EHR_AUTHORITY_GRANT,
                           view->grant_id, &share_check));
    char answers[2048], json[8192];
    answers_json(answers, sizeof answers, view, published, sizeof published);
    ehr_share *share = NULL;
    OK(ehr_share_check_seal(share_check, answers, strlen(answers), suite, public_key, 32, holder,
                            &share));
    ehr_share_check_free(share_check);
    ehr_capsule *capsule = NULL;
    OK(ehr_share_capsule(share, &capsule));
    ehr_share_free(share);
    ehr_key_store *keys = recipient_key_store(&host);

    /* Another record's proof is refused before any read. */
    ehr_receive_check *check = NULL;
    EXPECT_RC(ehr_receive_check_new_batched(context, view->recipient, capsule, wrong, envelope,
                                            envelope_len, &check),
              EHR_PROOF_INVALID);
    EXPECT_LAST_ERROR("ask the holder for this record's proof");
    EXPECT(check == NULL);
    OK(ehr_receive_check_new_batched(context, view->recipient, capsule, proof, envelope,
                                     envelope_len, &check));
    ehr_capsule_free(capsule);
    char reads[4096];
    OK(ehr_receive_check_reads(check, reads, sizeof reads, &n));
    EXPECT(count_reads(reads) == 3);
    /* batchOf's answers: no batch, another leaf count, this batch's. */
    uint8_t batch_of[96], submitter[20];
    uint8_t anchored_at[8] = {0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00}; /* 1,700,000,000 s */
    memset(submitter, 0x5e, 20);
    ehr_received *received = NULL;
    for (uint8_t leaves = 0; leaves <= 3; leaves++) {
        abi_word(abi_word(abi_word(batch_of, &leaves, 1), anchored_at, 8), submitter, 20);
        answers_json(answers, sizeof answers, view, batch_of, sizeof batch_of);
        ehr_result rc = ehr_receive_check_open(check, answers, strlen(answers), keys, &received);
        EXPECT(rc == (leaves == 0   ? EHR_PROOF_NOT_ANCHORED
                      : leaves == 2 ? EHR_OK
                                    : EHR_PROOF_ANCHOR_MISMATCH));
        if (rc == EHR_OK) {
            OK(ehr_received_evidence(received, json, sizeof json, &n));
            EXPECT(strstr(json, "\"anchor\":{\"kind\":\"batch\",\"root\":\"0x") != NULL);
            EXPECT(strstr(json, "\"leafCount\":2,\"anchoredAt\":1700000000000,"
                                "\"submitter\":\"0x5e5e") != NULL);
            ehr_received_free(received);
        }
    }
    ehr_receive_check_free(check);
    ehr_proof_free(proof);
    ehr_proof_free(wrong);
    ehr_key_store_free(keys);
    ehr_key_store_free(holder);
}

/* A holder shares a record with a recipient and the recipient opens it,
 * with the chain's answers given as JSON (the reads a host makes at one
 * mined block); every refusal of consent, key and anchor has its code. The
 * same flow on the devnet's EhrConsent is tests/sharing.rs. */
static void test_sharing_from_answers(void) {
    ehr_key_store *holder = memory_keys();
    struct consent_view view = {0, 0, 0, {0}, {0}, {0}};
    memset(view.grant_id, 0x42, 32);
    memset(view.subject, 0x5a, 32);
    memset(view.recipient, 0xaa, 20);
    uint8_t template_id[32], ti_id[32];
    memset(template_id, 0x7b, 32);
    memset(ti_id, 0x3c, 32);
    uint8_t envelope[256];
    size_t envelope_len = 0;
    OK(ehr_envelope_seal(holder, SEALING, strlen(SEALING), view.subject, template_id, ti_id,
                         (const uint8_t *)"K 4.1 mmol/L", 12, envelope, sizeof envelope,
                         &envelope_len));
    uint8_t record_hash[32];
    OK(ehr_envelope_record_hash(envelope, envelope_len, record_hash));
    ehr_sharing_context context = EHR_SHARING_CONTEXT_INIT;
    context.chain_id = 31337;
    memset(context.registry, 0xee, 20);
    memset(context.consent, 0xc0, 20);

    /* The recipient's key pair; what it publishes: key id and hash. */
    uint32_t suite = EHR_CAPSULE_SUITE_X25519;
    struct host_recipient host = {{0}, {0}, 0, 0, 0};
    uint8_t public_key[32], published[64];
    size_t n = 0;
    recipient_keys(&host, public_key, published);

    /* The holder's check: three reads, as eth_call requests at block 10. */
    ehr_share_check *check = NULL;
    OK(ehr_share_check_new(&context, envelope, envelope_len, view.recipient, EHR_AUTHORITY_GRANT,
                           view.grant_id, &check));
    char reads[4096], requests[8192], answers[2048];
    OK(ehr_share_check_reads(check, reads, sizeof reads, &n));
    EXPECT(count_reads(reads) == 3);
    OK(ehr_chain_reads_requests(reads, strlen(reads), 10, 1, requests, sizeof requests, &n));
    EXPECT(strstr(requests, "\"method\":\"eth_call\"") != NULL);
    EXPECT(strstr(requests, "\"0xa\"]") != NULL && strstr(requests, "\"id\":3") != NULL);

    /* No grant at block 10: no capsule. */
    ehr_share *share = NULL;
    answers_json(answers, sizeof answers, &view, published, sizeof published);
    EXPECT_RC(ehr_share_check_seal(check, answers, strlen(answers), suite, public_key, 32, holder,
                                   &share),
              EHR_CONSENT_NO_GRANT);
    EXPECT_LAST_ERROR("the patient must grant access first");
    EXPECT_RC(ehr_share_check_seal(check, LIT("{}"), suite, public_key, 32, holder, &share),
              EHR_INVALID_JSON);

    /* Granted, but the recipient published no key. */
    view.exists = 1;
    view.allowed = 1;
    uint8_t unpublished[64] = {0};
    answers_json(answers, sizeof answers, &view, unpublished, sizeof unpublished);
    EXPECT_RC(ehr_share_check_seal(check, answers, strlen(answers), suite, public_key, 32, holder,
                                   &share),
              EHR_RECIPIENT_KEY_NOT_PUBLISHED);

    /* Granted and published: the capsule, its disclosure, the transaction. */
    answers_json(answers, sizeof answers, &view, published, sizeof published);
    OK(ehr_share_check_seal(check, answers, strlen(answers), suite, public_key, 32, holder,
                            &share));
    char json[8192];
    OK(ehr_share_to_json(share, json, sizeof json, &n));
    EXPECT(strstr(json, "\"authority\":{\"grant\":\"0x4242") != NULL);
    EXPECT(strstr(json, "\"checkedAt\":{\"number\":10,\"time\":1700000000000}") != NULL);
    const ehr_share *shares[1] = {share};
    OK(ehr_disclosure_transaction(&context, shares, 1, json, sizeof json, &n));
    EXPECT(strstr(json, "{\"chainId\":31337,") == json && strstr(json, "\"calldata\":\"0x") != NULL);
    EXPECT_RC(ehr_disclosure_transaction(&context, shares, 0, json, sizeof json, &n),
              EHR_ZERO_LENGTH);
    context.struct_size = 0;
    EXPECT_RC(ehr_disclosure_transaction(&context, shares, 1, json, sizeof json, &n),
              EHR_INVALID_ARGUMENT);
    EXPECT_LAST_ERROR("`context->struct_size` is 0, but an ehr_sharing_context is at least");
    context.struct_size = sizeof context;
    ehr_capsule *capsule = NULL;
    OK(ehr_share_capsule(share, &capsule));
    uint8_t capsule_bytes[256];
    OK(ehr_capsule_to_bytes(capsule, capsule_bytes, sizeof capsule_bytes, &n));
    EXPECT(n == 231);
    ehr_capsule_free(capsule);
    ehr_share_free(share);

    /* The recipient opens it with its key from the HSM-like callbacks. */
    ehr_key_store *hsm = recipient_key_store(&host);
    OK(ehr_capsule_from_bytes(capsule_bytes, 231, &capsule));
    ehr_receive_check *receive = NULL;
    OK(ehr_receive_check_new(&context, view.recipient, capsule, envelope, envelope_len, &receive));
    ehr_capsule_free(capsule);
    OK(ehr_receive_check_reads(receive, reads, sizeof reads, &n));
    EXPECT(count_reads(reads) == 3);
    answers_json(answers, sizeof answers, &view, record_hash, 32);
    ehr_received *received = NULL;
    OK(ehr_receive_check_open(receive, answers, strlen(answers), hsm, &received));
    EXPECT(host.calls == 1);
    char record[64];
    OK(ehr_received_record(received, (uint8_t *)record, sizeof record, &n));
    EXPECT(n == 12 && memcmp(record, "K 4.1 mmol/L", 12) == 0);
    OK(ehr_received_evidence(received, json, sizeof json, &n));
    EXPECT(strstr(json, "{\"chainId\":31337,") == json);
    EXPECT(strstr(json, "\"authority\":{\"grant\":\"0x4242") != NULL);
    ehr_received_free(received);

    /* Not anchored: refused. */
    uint8_t zero[32] = {0};
    answers_json(answers, sizeof answers, &view, zero, 32);
    EXPECT_RC(ehr_receive_check_open(receive, answers, strlen(answers), hsm, &received),
              EHR_RECORD_NOT_ANCHORED);

    /* A record of a batch, received with its proof: the check reads the
     * registry's batchOf(root) (leaf count, anchoredAt, submitter) instead,
     * and the evidence names the batch. */
    test_sharing_batched(&context, &view, envelope, envelope_len, record_hash);

    /* Revoked: no new capsule, and the recipient's check fails on it. */
    view.allowed = 0;
    view.revoked = 1;
    answers_json(answers, sizeof answers, &view, published, sizeof published);
    EXPECT_RC(ehr_share_check_seal(check, answers, strlen(answers), suite, public_key, 32, holder,
                                   &share),
              EHR_CONSENT_REVOKED);
    EXPECT_LAST_ERROR("was revoked by the patient");
    answers_json(answers, sizeof answers, &view, record_hash, 32);
    EXPECT_RC(ehr_receive_check_open(receive, answers, strlen(answers), hsm, &received),
              EHR_CONSENT_REVOKED);
    ehr_receive_check_free(receive);
    ehr_receive_check_free(NULL);

    /* The patient's accounting: two eth_getLogs, and their logs decoded. */
    OK(ehr_accounting_requests(context.consent, view.subject, 0, 1, requests, sizeof requests, &n));
    EXPECT(strstr(requests, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"eth_getLogs\"") != NULL &&
           strstr(requests, "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"eth_getLogs\"") != NULL);
    OK(ehr_accounting(context.consent, view.subject, LIT("[[], []]"), json, sizeof json, &n));
    EXPECT(strcmp(json, "{\"disclosures\":[],\"grants\":[]}") == 0);
    EXPECT_RC(ehr_accounting(context.consent, view.subject, LIT("[{}]"), json, sizeof json, &n),
              EHR_TRANSPORT_MALFORMED);

    /* A devnet transport makes the reads itself; a callback transport has
     * no eth_call. */
    ehr_transport *devnet = NULL;
    OK(ehr_transport_new_devnet(NULL, &devnet));
    OK(ehr_share_check_reads(check, reads, sizeof reads, &n));
    OK(ehr_transport_read(devnet, reads, strlen(reads), answers, sizeof answers, &n));
    EXPECT(strstr(answers, "\"answers\":[\"0x\",\"0x\",\"0x\"]") != NULL);
    ehr_transport_free(devnet);
    struct fake_chain fake;
    memset(&fake, 0, sizeof fake);
    ehr_transport *callbacks = fake_transport(&fake);
    EXPECT_RC(ehr_transport_read(callbacks, reads, strlen(reads), answers, sizeof answers, &n),
              EHR_INVALID_ARGUMENT);
    ehr_transport_free(callbacks);

    ehr_share_check_free(check);
    ehr_share_check_free(NULL);
    ehr_share_free(NULL);
    ehr_received_free(NULL);
    ehr_key_store_free(hsm);
    ehr_key_store_free(holder);
}

/* The patient's records from their account, with the node's eth_getLogs
 * answers given as JSON (the seed of the sharing_answers fuzz target): the
 * account 0x21… is bound to pseudonym 0x01… (and to 0x02…, then unbound);
 * one record of 0x01… and one of 0x02… are anchored. The same on the
 * devnet is tests/patient_records.rs. */
static const char PATIENT_BINDINGS[] =
    "[{\"address\":\"0xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0\",\"topics\":[\"0x3affbd14cfa"
    "89e720126aab313d2029641452ec13f148f5989756338e2d0ff96\",\"0x0101010101010101010101010101"
    "010101010101010101010101010101010101\",\"0x000000000000000000000000212121212121212121212"
    "1212121212121212121\"],\"data\":\"0x0000000000000000000000001111111111111111111111111111"
    "111111111111\",\"blockNumber\":\"0x1\",\"logIndex\":\"0x0\"},{\"address\":\"0xc0c0c0c0c0"
    "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0\",\"topics\":[\"0x3affbd14cfa89e720126aab313d2029641452ec"
    "13f148f5989756338e2d0ff96\",\"0x02020202020202020202020202020202020202020202020202020202"
    "02020202\",\"0x0000000000000000000000002121212121212121212121212121212121212121\"],\"dat"
    "a\":\"0x0000000000000000000000001111111111111111111111111111111111111111\",\"blockNumber"
    "\":\"0x2\",\"logIndex\":\"0x0\"},{\"address\":\"0xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
    "c0\",\"topics\":[\"0x5fe600cd3334b75e59adbb1d99db3e8a68ff438ee0e2d5f2be668937903a263c\","
    "\"0x0202020202020202020202020202020202020202020202020202020202020202\",\"0x0000000000000"
    "000000000002121212121212121212121212121212121212121\"],\"data\":\"0x00000000000000000000"
    "00001111111111111111111111111111111111111111\",\"blockNumber\":\"0x3\",\"logIndex\":\"0x"
    "0\"}]";
static const char PATIENT_ANCHORED[] =
    "[{\"address\":\"0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\",\"topics\":[\"0x7c1adb2bcd6"
    "eaff4764f270bf1865cf217245215c3d5d7d5017008cc6dd8a447\",\"0x0303030303030303030303030303"
    "030303030303030303030303030303030303\",\"0x7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7"
    "e7e7e7e7e7e7e7e7e7e\",\"0x01010101010101010101010101010101010101010101010101010101010101"
    "01\"],\"data\":\"0x66666666666666666666666666666666666666666666666666666666666666660af1d"
    "ac7dea2fd7f7738119cec7df099dfad49aa9d2e7d17ba6b60f63ae7411f000000000000000000000000d0d0d"
    "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d000000000000000000000000000000000000000000000000000000"
    "0006955b6a8\",\"blockNumber\":\"0x4\",\"transactionHash\":\"0x44444444444444444444444444"
    "44444444444444444444444444444444444444\",\"logIndex\":\"0x1\"},{\"address\":\"0xeeeeeeee"
    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\",\"topics\":[\"0x7c1adb2bcd6eaff4764f270bf1865cf217245"
    "215c3d5d7d5017008cc6dd8a447\",\"0x040404040404040404040404040404040404040404040404040404"
    "0404040404\",\"0x7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e\",\"0x"
    "0202020202020202020202020202020202020202020202020202020202020202\"],\"data\":\"0x6767676"
    "7676767676767676767676767676767676767676767676767676767679102e22bff2cc289b9efbcc45f686cf"
    "0f470b1dcecedd2019beff8d2f00d091f000000000000000000000000d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d"
    "1d1d1d1d1000000000000000000000000000000000000000000000000000000006955b6a9\",\"blockNumbe"
    "r\":\"0x5\",\"logIndex\":\"0x0\",\"removed\":false}]";

static void test_patient_records_from_logs(void) {
    uint8_t registry[20], consent[20], patient[20];
    memset(registry, 0xee, sizeof registry);
    memset(consent, 0xc0, sizeof consent);
    memset(patient, 0x21, sizeof patient);
    char request[2048], json[4096];
    size_t n = 0;

    OK(ehr_patient_bindings_request(consent, patient, 0, 7, request, sizeof request, &n));
    EXPECT(strstr(request, "{\"id\":7,\"jsonrpc\":\"2.0\",\"method\":\"eth_getLogs\"") == request);
    EXPECT(strstr(request, "\"0x0000000000000000000000002121212121212121212121212121212121212121\"]") != NULL);

    OK(ehr_patient_records_request(registry, consent, patient, PATIENT_BINDINGS,
                                   sizeof PATIENT_BINDINGS - 1, 0, 8, request, sizeof request, &n));
    EXPECT(strstr(request, "null,null,[\"0x0101010101010101010101010101010101010101010101010101010101010101\"]]") != NULL);
    /* Bound to nothing: no request. */
    OK(ehr_patient_records_request(registry, consent, patient, LIT("[]"), 0, 8, request,
                                   sizeof request, &n));
    EXPECT(strcmp(request, "null") == 0);

    OK(ehr_patient_records(registry, consent, patient, PATIENT_BINDINGS, sizeof PATIENT_BINDINGS - 1,
                           PATIENT_ANCHORED, sizeof PATIENT_ANCHORED - 1, json, sizeof json, &n));
    EXPECT(strcmp(json,
                  "{\"pseudonyms\":[\"0x0101010101010101010101010101010101010101010101010101010101010101\"],"
                  "\"records\":[{\"tiId\":\"0x0303030303030303030303030303030303030303030303030303030303030303\","
                  "\"templateId\":\"0x7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e\","
                  "\"subject\":\"0x0101010101010101010101010101010101010101010101010101010101010101\","
                  "\"recordHash\":\"0x6666666666666666666666666666666666666666666666666666666666666666\","
                  "\"role\":\"0x0af1dac7dea2fd7f7738119cec7df099dfad49aa9d2e7d17ba6b60f63ae7411f\","
                  "\"roleName\":\"doctor\",\"author\":\"0xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0\","
                  "\"timestamp\":1767225000000,\"blockNumber\":4,"
                  "\"transactionHash\":\"0x4444444444444444444444444444444444444444444444444444444444444444\"}]}") == 0);
    EXPECT_RC(ehr_patient_records(registry, consent, patient, LIT("{}"), LIT("[]"), json,
                                  sizeof json, &n),
              EHR_TRANSPORT_MALFORMED);
    EXPECT_RC(ehr_patient_records(registry, NULL, patient, LIT("[]"), LIT("[]"), json, sizeof json, &n),
              EHR_NULL_ARGUMENT);
}

/* The consent contract's own part on the devnet, from C: EhrConsent
 * deployed, the patient bound by a custodian, a grant signed by another key
 * refused by the contract, the patient's signed grant relayed. */
static void test_consent_on_the_devnet(void) {
    ehr_transport *t = NULL;
    ehr_signer *patient = NULL, *other = NULL;
    ehr_sharing_context ctx = EHR_SHARING_CONTEXT_INIT;
    uint8_t admin_account[20], hospital[20], relayer_account[20], recipient_account[20];
    uint8_t patient_account[20], pseudonym[32], secret[32], tx[32], grant_id_[32], sig[65];
    char txbuf[8192], grant[1024], h1[70], h2[50], h3[50];
    size_t len = 0;
    memset(pseudonym, 0x07, sizeof pseudonym);
    OK(ehr_transport_new_devnet(NULL, &t));
    OK(ehr_transport_chain(t, &ctx.chain_id, ctx.registry));
    OK(ehr_devnet_account(LIT("admin"), admin_account));
    OK(ehr_devnet_account(LIT("hospital"), hospital));
    OK(ehr_devnet_account(LIT("relayer"), relayer_account));
    OK(ehr_devnet_account(LIT("clinic-b"), recipient_account));
    OK(ehr_transport_deploy_consent(t, admin_account, ctx.consent));
    OK(ehr_transport_devnet_grant_role(t, LIT("custodian"), hospital));
    memset(secret, 0x5a, sizeof secret);
    OK(ehr_signer_new_local(secret, &patient));
    memset(secret, 0x6b, sizeof secret);
    OK(ehr_signer_new_local(secret, &other));
    OK(ehr_signer_address(patient, patient_account));

    OK(ehr_consent_bind_patient_transaction(&ctx, pseudonym, patient_account, txbuf, sizeof txbuf,
                                            &len));
    EXPECT_RC(ehr_transport_send_consent(t, relayer_account, txbuf, len, tx),
              EHR_DISCLOSURE_REFUSED);
    EXPECT_LAST_ERROR("AccessControlUnauthorizedAccount");
    OK(ehr_transport_send_consent(t, hospital, txbuf, len, tx));

    unsigned long long now = (unsigned long long)(ehr_clock_now_ms() / 1000);
    int grant_len = snprintf(grant, sizeof grant,
                             "{\"subject\": \"%s\", \"patient\": \"%s\", \"recipient\": \"%s\", "
                             "\"templateIds\": [], \"expiresAt\": %llu, \"nonce\": 1, "
                             "\"deadline\": %llu}",
                             to_hex(h1, pseudonym, 32), to_hex(h2, patient_account, 20),
                             to_hex(h3, recipient_account, 20), now + 86400, now + 3600);
    EXPECT(grant_len > 0 && (size_t)grant_len < sizeof grant);
    OK(ehr_consent_typed_data(&ctx, grant, (size_t)grant_len, txbuf, sizeof txbuf, &len));
    EXPECT(strstr(txbuf, "\"primaryType\":\"ConsentGrant\"") != NULL);
    OK(ehr_consent_signing_digest(&ctx, grant, (size_t)grant_len, grant_id_));
    EXPECT_RC(ehr_consent_signing_digest(&ctx, LIT("{\"grantId\": 1}"), grant_id_),
              EHR_INVALID_JSON);
    EXPECT_LAST_ERROR("a revocation (it has a grantId)");

    /* Signed by another key: the contract refuses it. */
    OK(ehr_signer_sign_consent(other, &ctx, grant, (size_t)grant_len, sig));
    OK(ehr_consent_relay_transaction(&ctx, grant, (size_t)grant_len, sig, sizeof sig, txbuf,
                                     sizeof txbuf, &len));
    EXPECT_RC(ehr_transport_send_consent(t, relayer_account, txbuf, len, tx),
              EHR_DISCLOSURE_REFUSED);
    EXPECT_LAST_ERROR("EhrConsentBadSignature");
    /* Signed by the patient: relayed. */
    OK(ehr_signer_sign_consent(patient, &ctx, grant, (size_t)grant_len, sig));
    OK(ehr_consent_relay_transaction(&ctx, grant, (size_t)grant_len, sig, sizeof sig, txbuf,
                                     sizeof txbuf, &len));
    OK(ehr_transport_send_consent(t, relayer_account, txbuf, len, tx));

    ehr_signer_free(patient);
    ehr_signer_free(other);
    ehr_transport_free(t);
}

int main(void) {
    test_result_codes_are_stable();
    test_messages_and_buffers();
    test_bad_arguments();
    test_key_store_callbacks_and_envelopes();
    test_extensible_structs();
    test_configurations();
    test_tis_and_violations();
    test_devnet_flow_batches_and_proofs();
    test_devnet_roles_and_tc_accessors();
    test_callback_transport();
    test_validator_in_an_event_loop();
    test_validators_for_tis();
    test_durable_run_steps();
    test_durable_submit_through_the_host_outbox();
    test_validator_run_durably();
    test_signed_tis();
    test_watcher_after_the_ack();
    test_watch_run_steps();
    test_fhir_in_and_out();
    test_pipeline_on_the_devnet();
    test_pipeline_over_the_hosts_http();
    test_pipeline_in_an_event_loop();
    test_drain_run_steps();
    test_signed_record_proofs();
    test_signed_batches();
    test_key_capsules();
    test_sharing_from_answers();
    test_patient_records_from_logs();
    test_consent_on_the_devnet();
    if (failures > 0) {
        fprintf(stderr, "test_ffi: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_ffi: all %d checks passed\n", checks);
    return 0;
}
