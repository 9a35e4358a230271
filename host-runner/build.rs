//! Embeds the podsec policy module in the `podsec` binary, so `--policy` is optional.
//!
//! The module is built from this workspace by `module-builder` (the same step as
//! `make build`), in its own target directory so it never waits on this build's lock.
//! `PODSEC_MODULE=path/to/podsec.wasm` embeds a prebuilt module instead.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest_dir.join("..");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("podsec.wasm");
    println!("cargo:rerun-if-env-changed=PODSEC_MODULE");
    if let Some(module) = std::env::var_os("PODSEC_MODULE") {
        println!(
            "cargo:rerun-if-changed={}",
            PathBuf::from(&module).display()
        );
        std::fs::copy(&module, &out).expect("PODSEC_MODULE names a readable file");
        return;
    }
    for source in [
        "policy-core/src",
        "policy-core/Cargo.toml",
        "wasm-guest/src",
        "wasm-guest/Cargo.toml",
        "metadata.yml",
        "Cargo.toml",
        "Cargo.lock",
        "tools/module-builder/src",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(source).display());
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("podsec-module");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["run", "--quiet", "--release", "-p", "module-builder", "--"])
        .arg("--out")
        .arg(&out)
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--quiet")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the policy module failed; install the wasm target with `rustup target add wasm32-unknown-unknown`");
}
