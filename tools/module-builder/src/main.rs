//! Builds the podsec policy module: compiles `wasm-guest` for `wasm32-unknown-unknown`
//! with the `module` profile, shrinks it with binaryen's `wasm-opt -O3`, then embeds
//! `metadata.yml` as the
//! `io.kubewarden.metadata` custom section (what `kwctl annotate` writes) and prints the
//! module's size. Beside it, `podsec-mutating.wasm`: the same code with `mutating: true` in
//! its metadata, for the mutating mode (setting `mutate: true`), since policy-server takes
//! `mutated_object` only from a policy whose metadata says it mutates.
//!
//! Usage: `module-builder [--out dist/podsec.wasm] [--target-dir DIR] [--quiet]`

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
const SECTION: &str = "io.kubewarden.metadata";

fn main() {
    if let Err(error) = run() {
        eprintln!("module-builder: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = root.join("dist/podsec.wasm");
    let mut target_dir = root.join("target");
    let mut quiet = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a path")?),
            "--target-dir" => {
                target_dir = PathBuf::from(args.next().ok_or("--target-dir needs a path")?)
            }
            "--quiet" => quiet = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-p",
            "wasm-guest",
            "--profile",
            "module",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        // A 256 KiB stack instead of rustc's 1 MiB: less initial memory for the host to
        // keep resident and reset between instances (see host-runner's KEEP_RESIDENT_*).
        // Deep documents are bounded well before this (policy_core::limits). 832 KiB of
        // initial memory: the stack, the statics, and the allocator's arena after them
        // (wasm-guest/src/heap.rs), ~500 KiB, so a typical evaluation never grows memory.
        // LLVM's inline threshold at 40 instead of opt-level 3's 250: 447 -> 392 KB, the
        // same instructions per request within 0-5% (examples/profile_fuel), a smaller
        // frame stack, and a module wasmtime compiles with a fifth fewer instructions
        // (docs/BENCHMARKS.md).
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            "-C link-arg=-zstack-size=262144 -C link-arg=--initial-memory=851968 -C llvm-args=-inline-threshold=40",
        )
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the guest failed ({status}); is the {TARGET} target installed? (rustup target add {TARGET})"));
    }
    let module_path = target_dir.join(TARGET).join("module/wasm_guest.wasm");
    let module_path = optimise(&root, &module_path, &target_dir)?;
    let module =
        std::fs::read(&module_path).map_err(|e| format!("{}: {e}", module_path.display()))?;
    let metadata = metadata_json(&root.join("metadata.yml"), false)?;
    let mutating_metadata = metadata_json(&root.join("metadata.yml"), true)?;
    let mutating = with_custom_section(module.clone(), SECTION, mutating_metadata.as_bytes());
    let annotated = with_custom_section(module, SECTION, metadata.as_bytes());
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&out, &annotated).map_err(|e| format!("{}: {e}", out.display()))?;
    let mutating_out = mutating_path(&out);
    std::fs::write(&mutating_out, &mutating)
        .map_err(|e| format!("{}: {e}", mutating_out.display()))?;
    if quiet {
        return Ok(());
    }
    println!(
        "{}: {} bytes ({:.1} KB; budget 400 KB)",
        out.display(),
        annotated.len(),
        annotated.len() as f64 / 1000.0
    );
    Ok(())
}

/// The WebAssembly features rustc enables for the target, which wasm-opt must accept.
const FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// Runs binaryen's `wasm-opt -O3` (from `$WASM_OPT`, or `tools/wasm-opt`'s npm install)
/// and returns the optimised module's path; without wasm-opt, says so and keeps the input.
fn optimise(root: &Path, module: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let wasm_opt = std::env::var_os("WASM_OPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("tools/wasm-opt/node_modules/.bin/wasm-opt"));
    if !wasm_opt.exists() {
        eprintln!(
            "module-builder: wasm-opt not found at {} (run `make module`, which installs it); the module is not shrunk",
            wasm_opt.display()
        );
        return Ok(module.to_owned());
    }
    let out = target_dir.join("podsec.opt.wasm");
    let status = Command::new(&wasm_opt)
        .arg("-O3")
        .args(FEATURES)
        .arg(module)
        .arg("-o")
        .arg(&out)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", wasm_opt.display()))?;
    if !status.success() {
        return Err(format!("wasm-opt failed ({status})"));
    }
    Ok(out)
}

/// `dist/podsec.wasm` → `dist/podsec-mutating.wasm`.
fn mutating_path(out: &Path) -> PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("podsec");
    out.with_file_name(format!("{stem}-mutating.wasm"))
}

/// `metadata.yml` as the JSON Kubewarden reads, with the protocol version the module speaks
/// and, for the mutating module, `mutating: true`.
fn metadata_json(path: &Path, mutating: bool) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut metadata: serde_json::Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let object = metadata
        .as_object_mut()
        .ok_or_else(|| format!("{}: the metadata must be a mapping", path.display()))?;
    object.insert("protocolVersion".to_owned(), serde_json::Value::from("v1"));
    if mutating {
        object.insert("mutating".to_owned(), serde_json::Value::Bool(true));
        if let Some(annotations) = object
            .get_mut("annotations")
            .and_then(serde_json::Value::as_object_mut)
        {
            annotations.insert(
                "io.kubewarden.policy.title".to_owned(),
                serde_json::Value::from("podsec-mutating"),
            );
        }
    }
    serde_json::to_string(&metadata).map_err(|e| e.to_string())
}

/// Appends a custom section (id 0): LEB128 size, LEB128 name length, name, payload.
fn with_custom_section(mut module: Vec<u8>, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = leb128(name.len());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    module.push(0);
    module.extend(leb128(body.len()));
    module.extend(body);
    module
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_encodes_like_the_spec() {
        assert_eq!(leb128(0), vec![0]);
        assert_eq!(leb128(127), vec![0x7f]);
        assert_eq!(leb128(128), vec![0x80, 0x01]);
        assert_eq!(leb128(624485), vec![0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn the_mutating_module_sits_beside_the_module() {
        assert_eq!(
            mutating_path(Path::new("dist/podsec.wasm")),
            PathBuf::from("dist/podsec-mutating.wasm")
        );
    }

    #[test]
    fn custom_section_is_appended() {
        let module = with_custom_section(vec![0, b'a', b's', b'm', 1, 0, 0, 0], "n", b"{}");
        assert_eq!(&module[8..], &[0, 4, 1, b'n', b'{', b'}']);
    }
}
