//! Unit tests of the FHIR mapping on small resources written for them.
