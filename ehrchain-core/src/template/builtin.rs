//! The templates every deployment ships with, as JSON files in the crate.

/// The built-in templates as `(name, JSON)` pairs: blood pressure (doctor,
/// nurse), laboratory result (pathologist), medication administration (nurse),
/// diagnosis (doctor), device vital signs (device) and a drug shipment's custody
/// step (manufacturer, distributor, pharmacist).
pub const BUILT_IN_TEMPLATES: [(&str, &str); 6] = [
    (
        "blood-pressure",
        include_str!("builtin/blood-pressure.json"),
    ),
    ("lab-result", include_str!("builtin/lab-result.json")),
    (
        "medication-administration",
        include_str!("builtin/medication-administration.json"),
    ),
    ("diagnosis", include_str!("builtin/diagnosis.json")),
    (
        "device-vital-sign",
        include_str!("builtin/device-vital-sign.json"),
    ),
    (
        "drug-shipment-custody",
        include_str!("builtin/drug-shipment-custody.json"),
    ),
];
