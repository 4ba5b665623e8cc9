/*
 * What the C fragments of the Markdown docs take from the code around them:
 * the handles, buffers and values a host holds, and the host's own functions
 * they call, declared with the types the header gives them, so that each
 * fragment compiles as the body of a function (scripts/doc-c-blocks.sh;
 * `make ffi`). A fragment that passes the wrong type, the wrong number of
 * arguments or a name the header lacks fails the build.
 */
#ifndef EHRCHAIN_DOC_FRAGMENTS_H
#define EHRCHAIN_DOC_FRAGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ehrchain.h"

/* Handles. */
extern ehr_templates *templates;
extern ehr_transport *chain, *transport, *rpc;
extern ehr_handshaker *hs;
extern ehr_ti *ti;
extern ehr_tc *tc;
extern ehr_ack *ack;
extern ehr_validator *v;
extern ehr_validator_config *config;
extern ehr_rpc_exchange *x;
extern ehr_transmit action;
extern ehr_receipt receipt;
extern ehr_cancel *cancel;

/* A secret key from the host's vault. */
extern const uint8_t *nurse_secret;

/* Values: ids, addresses, clocks, results. */
extern uint8_t registry[20], admin[20], nurse_account[20], sender[20], zero_address[20];
extern uint8_t template_id[32], tx_hash[32], record_hash[32], batch_id[32];
extern uint64_t chain_id, now_ms, deadline_ms, head;
extern uint32_t status, leaf_count;
extern ehr_result result;
extern bool stored_ok, found, has_batch_id;
extern size_t verdicts_stored;

/* A recipient's key capsule, the envelope it is for and the binding expected
 * (docs/capsule.md); the host's HSM and its key-store callbacks. */
extern const uint8_t *capsule_bytes, *envelope;
extern size_t capsule_len, envelope_len;
extern ehr_capsule_binding expected;
extern ehr_key_store *keys;
extern const uint8_t *public_key;
extern size_t public_key_len;
extern void *hsm;
ehr_result hsm_master_key(void *hsm, const char *key_id, size_t key_id_len, uint8_t *key_out);
ehr_result hsm_recipient_key(void *hsm, const uint8_t *key_id, uint32_t suite, uint8_t *key_out);

/* Sharing (docs/consent.md): where consent lives, a recipient and a grant,
 * and the reads and answers JSON of a check. */
extern ehr_sharing_context sharing;
extern uint8_t recipient[20], grant_id[32];
extern char reads[4096], answers[4096];
/* The consent contract's own part: the patient's signer (an HSM or a local
 * key), the pseudonym and account it speaks for, a custodian's and a
 * relayer's accounts, a grant statement as JSON and its signature. */
extern ehr_signer *patient_signer;
extern ehr_signer *author_card;
extern uint8_t subject[32], patient_account[20], custodian[20], relayer[20], consent[20];
extern uint8_t signature[65];
extern const char *grant_json;
extern size_t grant_json_len;

/* The node's URL, and one HTTP exchange with it. */
extern const char *url;
extern size_t url_len;
extern char buf[65536];
extern size_t n;
extern uint16_t http_status;
extern const uint8_t *body;
extern size_t body_len;
/* Posts `len` bytes of `request` to `url`; the HTTP status, 0 when no answer came. */
uint16_t my_http_post(const char *url, const char *request, size_t len, const uint8_t **body_out,
                      size_t *body_len_out);

/* The host's outbox: a table in its database, and the four callbacks over it. */
extern void *db;
ehr_result db_save(void *db, const uint8_t *key, const char *entry, size_t entry_len);
ehr_result db_load(void *db, const uint8_t *key, bool *found_out, const char **entry_out,
                   size_t *entry_len_out);
ehr_result db_keys(void *db, uint8_t *keys_out, size_t capacity, size_t *count_out);
ehr_result db_finish(void *db, const uint8_t *key, const struct ehr_ack *const *acks,
                     size_t acks_len);
/* Those callbacks, as the outbox block sets them up. */
extern ehr_outbox_callbacks outbox;

/* A pipeline in the host's loop (README, "The pipeline in the host's event
 * loop"): the host's storage queue (outbox callbacks over it), and its own
 * I/O, which starts a flight's action and answers later. */
extern ehr_pipeline *p;
extern ehr_outbox_callbacks queue;
extern size_t verdicts;
/* Whether the storage thread has reported a round: its number to `round_out`. */
bool my_storage_thread_committed(uint64_t *round_out, ehr_result *stored_out);
void my_start(uint64_t flight, const ehr_transmit *action);

/* A watch in the host's loop (README, "A watch and a drain in the host's
 * event loop"): the watcher, and the ACKs of a resend's durable run. */
extern ehr_watcher *watcher;
extern const ehr_ack *const *resent_acks;
extern size_t resent_count;

#endif
