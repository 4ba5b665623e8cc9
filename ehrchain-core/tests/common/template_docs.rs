//! Pieces of hand-written template documents: one setup for the template
//! unit tests (which include this file with `#[path]`) and the template
//! vectors.

use serde_json::{Value, json};

/// The `system` fields an `anchorRecord` template fills from the handshaker:
/// subject, template id, TI id, record hash and time.
pub(crate) fn system_fields() -> Vec<Value> {
    vec![
        json!({"name": "subject", "placement": "system", "source": "patient_pseudonym"}),
        json!({"name": "template", "placement": "system", "source": "template_id"}),
        json!({"name": "ti", "placement": "system", "source": "ti_id"}),
        json!({"name": "record_hash", "placement": "system", "source": "record_hash"}),
        json!({"name": "recorded_at", "placement": "system", "source": "timestamp"}),
    ]
}
