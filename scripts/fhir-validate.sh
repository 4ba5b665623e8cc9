#!/usr/bin/env bash
# The FHIR resources ehrchain writes (Provenance for valid ACKs, AuditEvent for
# invalid ones) validated by an independent FHIR R4 library: fhir.resources
# 6.1.0 (models generated from FHIR 4.0.1; pinned with its pydantic in
# scripts/fhir-validate-requirements.txt) in a virtual environment under
# target/. The resources come from the real-data suite
# (ehrchain-core/tests/fhir_real_data.rs), which needs ../shared/fhir/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [[ ! -d ../shared/fhir ]]; then
    echo "fhir-validate: SKIPPED: ../shared/fhir is absent (CI has it beside the clone)"
    exit 0
fi
venv=target/fhir-venv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/fhir-validate-requirements.txt
rm -rf target/fhir-out
cargo test --locked -p ehrchain-core --test fhir_real_data --quiet
"$venv/bin/python" scripts/fhir_validate.py target/fhir-out/*.json
