"""Validates the FHIR resources ehrchain writes (Provenance, AuditEvent) with
an independent FHIR R4 model library: fhir.resources 6.1.0, whose models are
generated from the FHIR 4.0.1 specification and check structure, types,
cardinality and required elements.

Usage: fhir_validate.py FILE...   (each FILE a JSON array of resources)

Before checking ours, it checks that the library accepts the official R4
examples of both types (../shared/fhir/r4-examples/, when present) and refuses
a Provenance without its required agent, so a library that accepts anything
cannot pass this check.
"""

import json
import pathlib
import sys

import fhir.resources
from fhir.resources.auditevent import AuditEvent
from fhir.resources.provenance import Provenance

MODELS = {"Provenance": Provenance, "AuditEvent": AuditEvent}


def check(resource, where):
    model = MODELS.get(resource.get("resourceType"))
    if model is None:
        sys.exit(f"{where}: unexpected resourceType {resource.get('resourceType')!r}")
    model.parse_obj(resource)


def main():
    if fhir.resources.__fhir_version__ != "4.0.1":
        sys.exit(f"fhir.resources models FHIR {fhir.resources.__fhir_version__}, not R4 4.0.1")
    shared = pathlib.Path(__file__).resolve().parents[2] / "shared" / "fhir" / "r4-examples"
    official = sorted(shared.glob("provenance-*.json")) + sorted(shared.glob("auditevent-*.json"))
    for path in official:
        check(json.loads(path.read_text()), path.name)
    try:
        Provenance.parse_obj({"resourceType": "Provenance", "target": [{"reference": "Patient/1"}],
                              "recorded": "2020-01-01T00:00:00Z"})
    except Exception:  # noqa: BLE001 - any validation error is the point
        pass
    else:
        sys.exit("the validator accepted a Provenance without agent: it checks nothing")
    count = 0
    for name in sys.argv[1:]:
        for i, resource in enumerate(json.loads(pathlib.Path(name).read_text())):
            check(resource, f"{name}[{i}]")
            count += 1
    if count == 0:
        sys.exit("no resource to validate: run the real-data FHIR tests first")
    print(f"fhir-validate: {count} ehrchain resources and {len(official)} official examples "
          f"are valid FHIR R4 ({fhir.resources.__version__})")


main()
