//! Profiling driver: how many WebAssembly instructions each module runs for `wapc_init` and
//! for one `validate` of each benchmark pod at each level (wasmtime's fuel, one unit per
//! instruction), and how deep its stack went. Unlike a timing, the count is the same on
//! every run and every machine, so two modules compare exactly:
//! `cargo run --release -p podsec --example profile_fuel -- old.wasm dist/podsec.wasm`.
use podsec::benchdata::{request, PodSize};
use wasmtime::{Caller, Config, Engine, Linker, Module, Store};

/// The guest's stack top (module-builder's `-zstack-size=262144`): the stack grows down
/// from here.
const STACK_TOP: usize = 256 * 1024;

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
                let (init, validate, stack) = count(&engine, &module, &request(size, level));
                println!(
                    "| {path} | {} | {level} | {init} | {validate} | {stack} |",
                    size.name()
                );
            }
        }
    }
}

/// Fuel spent by `wapc_init` and by `validate` in a fresh instance, and the stack depth.
fn count(engine: &Engine, module: &Module, payload: &[u8]) -> (u64, u64, usize) {
    let mut store = Store::new(engine, payload.to_vec());
    store.set_fuel(u64::MAX / 2).expect("fuel is on");
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "wapc",
            "__guest_request",
            |mut caller: Caller<'_, Vec<u8>>, op: i32, ptr: i32| {
                let memory = caller
                    .get_export("memory")
                    .and_then(|export| export.into_memory())
                    .expect("the module exports its memory");
                let payload = caller.data().clone();
                memory
                    .write(&mut caller, op as usize, b"validate")
                    .expect("operation");
                memory
                    .write(&mut caller, ptr as usize, &payload)
                    .expect("payload");
            },
        )
        .expect("linker");
    linker
        .func_wrap(
            "wapc",
            "__guest_response",
            |_: Caller<'_, Vec<u8>>, _: i32, _: i32| {},
        )
        .expect("linker");
    linker
        .define_unknown_imports_as_traps(module)
        .expect("linker");
    let instance = linker.instantiate(&mut store, module).expect("instance");
    let fuel = |store: &Store<Vec<u8>>| store.get_fuel().expect("fuel is on");
    let start = fuel(&store);
    instance
        .get_typed_func::<(), ()>(&mut store, "wapc_init")
        .expect("wapc_init")
        .call(&mut store, ())
        .expect("wapc_init runs");
    let initialised = fuel(&store);
    let answered = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
        .expect("__guest_call")
        .call(&mut store, (8, payload.len() as i32))
        .expect("validate runs");
    assert_eq!(answered, 1, "validate answers");
    let done = fuel(&store);
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    let stack = memory.data(&store).get(..STACK_TOP).unwrap_or_default();
    let low = stack.iter().position(|&b| b != 0).unwrap_or(STACK_TOP);
    (
        start.saturating_sub(initialised),
        initialised.saturating_sub(done),
        STACK_TOP - low,
    )
}
