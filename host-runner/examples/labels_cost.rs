//! What the namespace-labels mode adds to one `validate` in podsec's host (fresh instance
//! each), measured interleaved (`benchdata::labels_extra_us`): the figures `make bench`
//! puts in its budget row, on their own.
//!
//! `cargo run --release -p podsec --example labels_cost [MODULE.wasm]` (default: the
//! embedded module)
use podsec::benchdata::{labels_extra_us, PodSize};
use podsec::module::PolicyModule;
use podsec::runtime::SandboxConfig;

fn main() {
    let path = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let module = PolicyModule::load(path.as_deref(), SandboxConfig::default()).expect("module");
    let policy = module.policy();
    println!("| level | pod | fixed level | namespace labels | extra (median of 15 rounds) |");
    println!("| --- | --- | --- | --- | --- |");
    for level in ["baseline", "restricted"] {
        for size in [PodSize::Small, PodSize::Typical] {
            let (fixed, labelled, extra) = labels_extra_us(policy, size, level, 15);
            println!(
                "| {level} | {} | {fixed:.2} µs | {labelled:.2} µs | {extra:+.2} µs |",
                size.name()
            );
        }
    }
}
