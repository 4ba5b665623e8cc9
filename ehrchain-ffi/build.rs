//! Gives the shared library a SONAME on ELF targets, so a C host that links
//! against `libehrchain.so` (installed by `make install`) depends on
//! `libehrchain.so.<major>` (`libehrchain.so.0.<minor>` before 1.0, where a
//! minor version may break the ABI, as cargo-c names it) and a compatible
//! upgrade replaces the file under that name.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{}", soname());
    }
}

/// `libehrchain.so.0.1` for 0.1.x, `libehrchain.so.1` for 1.x.
fn soname() -> String {
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    if major == "0" {
        format!("libehrchain.so.0.{minor}")
    } else {
        format!("libehrchain.so.{major}")
    }
}
