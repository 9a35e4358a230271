//! Profiling driver: how many WebAssembly instructions each module runs for `wapc_init` and
//! for one `validate` of each benchmark pod at each level (wasmtime's fuel, one unit per
//! instruction), and how deep its stack went; then the small and typical pods in the
//! namespace-labels mode (`{"namespaceLabels": true}`, the Namespace's answer given by the
//! host call), at the level the namespace enforces. Unlike a timing, the count is the same on
//! every run and every machine, so two modules compare exactly:
//! `cargo run --release -p podsec --example profile_fuel -- old.wasm dist/podsec.wasm`.
use podsec::benchdata::{
    bare_instance_answering, bare_validate, guest_stack_depth, labelled_cluster, labelled_request,
    request, PodSize,
};
use policy_core::cluster::Cluster;
use wasmtime::{Config, Engine, Module, Store};

fn main() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).expect("engine");
    println!("| module | pod | level | wapc_init | validate | stack bytes |");
    println!("| --- | --- | --- | ---: | ---: | ---: |");
    for path in std::env::args().skip(1) {
        let module = Module::from_file(&engine, &path).expect("the module compiles");
        for size in PodSize::ALL {
            for level in ["baseline", "restricted"] {
                let (init, validate, stack) = count(&engine, &module, &request(size, level), None);
                println!(
                    "| {path} | {} | {level} | {init} | {validate} | {stack} |",
                    size.name()
                );
            }
        }
        for size in [PodSize::Small, PodSize::Typical] {
            for level in ["baseline", "restricted"] {
                let namespace = labelled_cluster(level)
                    .get_namespace("shop")
                    .expect("the namespace is known");
                let (init, validate, stack) =
                    count(&engine, &module, &labelled_request(size), Some(namespace));
                println!(
                    "| {path} | {} (namespace labels) | {level} | {init} | {validate} | {stack} |",
                    size.name()
                );
            }
        }
    }
}

/// Fuel spent by `wapc_init` and by `validate` in a fresh instance, and the stack depth.
fn count(
    engine: &Engine,
    module: &Module,
    payload: &[u8],
    namespace: Option<Vec<u8>>,
) -> (u64, u64, usize) {
    let mut store = Store::new(engine, payload.to_vec());
    store.set_fuel(u64::MAX / 2).expect("fuel is on");
    let instance = bare_instance_answering(module, &mut store, namespace).expect("instance");
    let fuel = |store: &Store<Vec<u8>>| store.get_fuel().expect("fuel is on");
    let start = fuel(&store);
    let mut initialised = start;
    let answered = bare_validate(&instance, &mut store, |store| initialised = fuel(store))
        .expect("validate runs");
    assert_eq!(answered, 1, "validate answers");
    let done = fuel(&store);
    let stack = guest_stack_depth(&instance, &mut store).unwrap_or(0);
    (
        start.saturating_sub(initialised),
        initialised.saturating_sub(done),
        stack,
    )
}
