//! Links the loader with its own script (one low, identity-placed segment
//! that QEMU's multiboot loader copies as is) when building for bare metal.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=boot.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{dir}/boot.ld");
    }
}
