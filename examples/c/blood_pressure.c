/*
 * The blood-pressure flow end to end through the C ABI, on the in-process
 * devnet (no server): built-in templates registered on chain, the forms a
 * nurse may fill in, a nurse's blood-pressure TI turned into a sealed record
 * and an Ethereum transaction, anchored by the EhrRegistry contract and
 * answered with an ACK, which is printed as the host's database would store
 * it. The record is then opened again with the key store.
 *
 * Build and run: make -C examples/c run   (from the repository root)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehrchain.h"

/* Prints the failing call, its code's name and the detailed message. */
static int fail(const char *what, ehr_result rc) {
    char name[256];
    char detail[2048];
    size_t n = 0;
    if (ehr_result_message(rc, name, sizeof name, &n) != EHR_OK) {
        snprintf(name, sizeof name, "code %u", (unsigned)rc);
    }
    if (ehr_last_error(detail, sizeof detail, &n) != EHR_OK) {
        detail[0] = '\0';
    }
    fprintf(stderr, "%s failed: %s\n  %s\n", what, name, detail);
    return 1;
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        ehr_result rc_ = (call);                                                                   \
        if (rc_ != EHR_OK) {                                                                       \
            status = fail(#call, rc_);                                                             \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static void hex(const uint8_t *bytes, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

/* Calls a text getter twice: once to learn the size, once to fill. */
static char *ack_json(const ehr_ack *ack) {
    size_t needed = 0;
    if (ehr_ack_to_json(ack, NULL, 0, &needed) != EHR_BUFFER_TOO_SMALL) {
        return NULL;
    }
    char *json = malloc(needed);
    size_t written = 0;
    if (json == NULL || ehr_ack_to_json(ack, json, needed, &written) != EHR_OK) {
        free(json);
        return NULL;
    }
    return json;
}

int main(void) {
    int status = 0;
    ehr_templates *templates = NULL;
    ehr_transport *chain = NULL;
    ehr_key_store *keys = NULL;
    ehr_validator_config_builder *validator_builder = NULL;
    ehr_validator_config *validator = NULL;
    ehr_handshaker_config_builder *config_builder = NULL;
    ehr_handshaker_config *config = NULL;
    ehr_handshaker *hs = NULL;
    ehr_ti *ti = NULL;
    ehr_ack *ack = NULL;
    char *json = NULL;
    uint8_t *envelope = NULL;
    static char forms[64 * 1024];
    static uint8_t record[16 * 1024];

    /* Templates (TTM): the built-in ones, registered on a fresh devnet. */
    CHECK(ehr_templates_new_builtin(&templates));
    CHECK(ehr_transport_new_devnet(templates, &chain));

    /* The host's key store: one key seals records, one derives pseudonyms. */
    CHECK(ehr_key_store_new(&keys));
    uint8_t key[32];
    CHECK(ehr_random_id(key));
    CHECK(ehr_key_store_insert(keys, "records-2026", strlen("records-2026"), key));
    CHECK(ehr_random_id(key));
    CHECK(ehr_key_store_insert(keys, "pseudonyms", strlen("pseudonyms"), key));
    memset(key, 0, sizeof key);

    /* The handshaker, for the devnet's chain and registry. The devnet mines
     * at once: poll every 10 ms rather than every second. */
    uint64_t chain_id = 0;
    uint8_t registry[20];
    CHECK(ehr_transport_chain(chain, &chain_id, registry));
    CHECK(ehr_validator_config_builder_new(&validator_builder));
    CHECK(ehr_validator_config_builder_set_confirmations(validator_builder, 2));
    CHECK(ehr_validator_config_builder_set_poll_interval_ms(validator_builder, 10));
    CHECK(ehr_validator_config_builder_build(validator_builder, &validator));
    CHECK(ehr_handshaker_config_builder_new(chain_id, registry, "records-2026",
                                            strlen("records-2026"), "pseudonyms",
                                            strlen("pseudonyms"), &config_builder));
    CHECK(ehr_handshaker_config_builder_set_validator(config_builder, validator));
    CHECK(ehr_handshaker_config_builder_build(config_builder, &config));
    CHECK(ehr_handshaker_new(templates, keys, config, &hs));

    size_t n = 0;
    CHECK(ehr_templates_forms_for(templates, "nurse", strlen("nurse"), forms, sizeof forms, &n));
    printf("Forms a nurse may fill in (%zu bytes of JSON): %.160s...\n\n", n, forms);

    /* A nurse's blood-pressure TI. */
    uint8_t template_id[32];
    uint8_t ti_id[32];
    CHECK(ehr_templates_latest(templates, "blood-pressure", strlen("blood-pressure"),
                               template_id));
    CHECK(ehr_random_id(ti_id));
    const char *patient = "MRN-000123";
    CHECK(ehr_ti_new(ti_id, template_id, "nurse-0815", strlen("nurse-0815"), "nurse",
                     strlen("nurse"), patient, strlen(patient), ehr_clock_now_ms() / 1000, &ti));
    CHECK(ehr_ti_set_field(ti, "systolic", 8, "128", 3));
    CHECK(ehr_ti_set_field(ti, "diastolic", 9, "84", 2));
    CHECK(ehr_ti_set_field(ti, "position", 8, "\"sitting\"", 9));

    /* TI -> TC -> chain -> ACK. */
    CHECK(ehr_handshaker_submit(hs, ti, chain, 0, NULL, &ack));
    ehr_ack_summary summary = EHR_ACK_SUMMARY_INIT;
    CHECK(ehr_ack_to_summary(ack, &summary));
    if (summary.valid) {
        char tx[65];
        char record_hash[65];
        hex(summary.tx_hash, 32, tx);
        hex(summary.record_hash, 32, record_hash);
        printf("ACK: VALID in block %llu (tx 0x%s), record hash 0x%s\n",
               (unsigned long long)summary.block_number, tx, record_hash);
    } else {
        char reason[2048];
        CHECK(ehr_ack_reason(ack, reason, sizeof reason, &n));
        printf("ACK: INVALID, kept for audit: %s\n", reason);
        status = 1;
    }
    json = ack_json(ack);
    if (json == NULL) {
        status = fail("ehr_ack_to_json", EHR_INTERNAL);
        goto done;
    }
    printf("ACK as the EHR database stores it:\n%s\n\n", json);

    /* The sealed record stays off chain; the key store opens it again. */
    size_t envelope_len = 0;
    if (ehr_ack_envelope(ack, NULL, 0, &envelope_len) != EHR_BUFFER_TOO_SMALL) {
        status = fail("ehr_ack_envelope (size)", EHR_INTERNAL);
        goto done;
    }
    envelope = malloc(envelope_len);
    if (envelope == NULL) {
        status = 1;
        goto done;
    }
    CHECK(ehr_ack_envelope(ack, envelope, envelope_len, &envelope_len));
    CHECK(ehr_envelope_open(keys, envelope, envelope_len, record, sizeof record - 1, &n));
    record[n] = '\0';
    printf("Sealed record (%zu bytes of envelope) opens to: %s\n", envelope_len, (char *)record);
    memset(record, 0, sizeof record);

done:
    free(envelope);
    free(json);
    ehr_ack_free(ack);
    ehr_ti_free(ti);
    ehr_handshaker_free(hs);
    ehr_handshaker_config_free(config);
    ehr_handshaker_config_builder_free(config_builder);
    ehr_validator_config_free(validator);
    ehr_validator_config_builder_free(validator_builder);
    ehr_key_store_free(keys);
    ehr_transport_free(chain);
    ehr_templates_free(templates);
    return status;
}
