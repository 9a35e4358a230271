//! The sandbox: a waPC host written directly on wasmtime.
//!
//! Each evaluation runs in a fresh instance, made from a pre-instantiated template
//! (`InstancePre`) with the pooling allocator and copy-on-write memory images, under a
//! memory cap (a `ResourceLimiter`) and a deadline (epoch interruption). Modules get no
//! capabilities: the waPC imports answer every host call with an error, and modules built
//! for `wasm32-wasip1` get WASI preview 1 with nothing granted (no files, environment,
//! arguments, clocks beyond the defaults, or network). Compiled modules are cached on disk,
//! keyed by a hash of the module and the engine configuration.

mod wapc;

pub use wapc::HOST_CALL_REFUSED;

/// A cluster that answers a module's context-aware host calls (Kubewarden's `kubewarden`
/// binding, `kubernetes` namespace), shared by the calls that use it.
pub type HostCluster = std::sync::Arc<dyn policy_core::cluster::Cluster + Send + Sync>;

use anyhow::{anyhow, Context as _, Result};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::WasiCtxBuilder;

/// How often the epoch advances; deadlines are whole ticks.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The sandbox's limits and where compiled modules are cached.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The most linear memory one evaluation may use.
    pub memory_limit: usize,
    /// The longest one evaluation may run (instantiation included).
    pub deadline: Duration,
    /// Where compiled modules are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// How many instances may be alive at once (pooling allocator slots).
    pub max_instances: u32,
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            memory_limit: 64 * 1024 * 1024,
            deadline: Duration::from_secs(1),
            cache_dir: default_cache_dir(),
            max_instances: 64,
        }
    }
}

/// `$PODSEC_CACHE_DIR`, else `$XDG_CACHE_HOME/podsec`, else `~/.cache/podsec`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PODSEC_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("podsec"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/podsec"))
}

/// Why one call into the module failed. Each names its cause; none takes the host down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The evaluation ran past its deadline and was interrupted.
    Timeout(Duration),
    /// The module's initialisation (`wapc_init`, or WASI's `_start`) ran past the deadline
    /// and was interrupted, before any operation was called.
    InitTimeout(Duration),
    /// The module tried to grow its memory past the cap.
    MemoryLimit(usize),
    /// The module trapped (a Rust panic, `unreachable`, an out-of-bounds access, …).
    Trap(String),
    /// The module reported a waPC error for the operation.
    Guest(String),
    /// The module broke the waPC protocol (no response, missing exports, …).
    Protocol(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Timeout(limit) => {
                write!(
                    f,
                    "the policy ran past its deadline of {} ms and was stopped",
                    limit.as_millis()
                )
            }
            CallError::InitTimeout(limit) => write!(
                f,
                "the policy's initialisation (wapc_init) ran past the deadline of {} ms and was stopped",
                limit.as_millis()
            ),
            CallError::MemoryLimit(limit) => write!(
                f,
                "the policy tried to use more than its memory limit of {} MiB and was stopped",
                limit / (1024 * 1024)
            ),
            CallError::Trap(trap) => write!(f, "the policy crashed ({trap})"),
            CallError::Guest(message) => write!(f, "the policy returned an error: {message}"),
            CallError::Protocol(message) => {
                write!(f, "the policy broke the waPC protocol: {message}")
            }
        }
    }
}

impl std::error::Error for CallError {}

/// What one store holds: the waPC exchange, the memory limiter and, for WASI modules, an
/// empty WASI context.
pub(crate) struct HostState {
    pub(crate) wapc: wapc::Exchange,
    /// Who answers the module's Kubernetes host calls (none: every host call fails).
    pub(crate) cluster: Option<HostCluster>,
    /// The instance's exported memory, looked up once (the host functions read and write
    /// it several times a call).
    pub(crate) memory: Option<wasmtime::Memory>,
    limiter: MemoryCap,
    wasi: Option<WasiP1Ctx>,
}

struct MemoryCap {
    limit: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limit;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// A loaded policy module, ready to evaluate from any thread.
pub struct Policy {
    engine: Engine,
    pre: InstancePre<HostState>,
    config: SandboxConfig,
    needs_wasi: bool,
    starts: Vec<&'static str>,
    /// Keeps the deadlines firing while the policy lives.
    _ticker: EpochTicker,
}

impl Policy {
    /// Compiles (or loads from the cache) and links a module. Fails with a clear message
    /// when the module is not wasm, imports what podsec does not provide, or lacks the
    /// waPC exports.
    pub fn load(module_bytes: &[u8], config: SandboxConfig) -> Result<Policy> {
        let engine = engine_for(&config)?;
        let module = Module::new(&engine, module_bytes)
            .map_err(|e| anyhow!("the module does not compile: {e}"))?;
        let needs_wasi = module
            .imports()
            .any(|i| i.module() == "wasi_snapshot_preview1");
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wapc::add_to_linker(&mut linker)?;
        if needs_wasi {
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut HostState| {
                state
                    .wasi
                    .get_or_insert_with(|| WasiCtxBuilder::new().build_p1())
            })?;
        }
        for import in module.imports() {
            let known = matches!(import.module(), "wapc" | "wasi_snapshot_preview1");
            if !known {
                return Err(anyhow!(
                    "the module imports {}::{}, which podsec does not provide (only waPC and WASI preview 1)",
                    import.module(),
                    import.name()
                ));
            }
        }
        let guest_call = module.get_export("__guest_call");
        if guest_call.is_none() {
            return Err(anyhow!(
                "the module does not export __guest_call: it is not a waPC policy"
            ));
        }
        let starts = ["_start", "wapc_init"]
            .into_iter()
            .filter(|name| module.get_export(name).is_some())
            .collect();
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| anyhow!("the module cannot be linked: {e}"))?;
        let ticker = EpochTicker::start(&engine)?;
        Ok(Policy {
            engine,
            pre,
            config,
            needs_wasi,
            starts,
            _ticker: ticker,
        })
    }

    /// The sandbox limits in force.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Calls waPC operation `operation` with `payload` in a fresh instance.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, CallError> {
        self.call_with(operation, payload, None)
    }

    /// [`Policy::call`] with `cluster` answering the module's Kubernetes host calls.
    pub fn call_with(
        &self,
        operation: &str,
        payload: &[u8],
        cluster: Option<HostCluster>,
    ) -> Result<Vec<u8>, CallError> {
        let mut store = self.store(operation, payload);
        store.data_mut().cluster = cluster;
        let guest_call = self
            .instantiate(&mut store)
            .map_err(|error| classify_init(error, &store, &self.config))?;
        call_guest(&mut store, &guest_call, operation, payload)
            .map_err(|error| classify(error, &store, &self.config))
    }

    /// An instance kept for many calls (what hosts that reuse instances do). Faster than
    /// [`Policy::call`], but what one call leaves in memory the next one sees.
    pub fn session(&self) -> Result<Session<'_>, CallError> {
        let mut store = self.store("", b"");
        match self.instantiate(&mut store) {
            Ok(guest_call) => Ok(Session {
                policy: self,
                store,
                guest_call,
            }),
            Err(error) => Err(classify_init(error, &store, &self.config)),
        }
    }

    fn store(&self, operation: &str, payload: &[u8]) -> Store<HostState> {
        let state = HostState {
            wapc: wapc::Exchange::new(operation, payload),
            cluster: None,
            memory: None,
            limiter: MemoryCap {
                limit: self.config.memory_limit,
                hit: false,
            },
            wasi: self.needs_wasi.then(|| WasiCtxBuilder::new().build_p1()),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        self.arm_deadline(&mut store);
        store.epoch_deadline_trap();
        store
    }

    fn arm_deadline(&self, store: &mut Store<HostState>) {
        let ticks = self
            .config
            .deadline
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros())
            .max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    }

    fn instantiate(&self, store: &mut Store<HostState>) -> Result<GuestCall, wasmtime::Error> {
        let instance = self.pre.instantiate(&mut *store)?;
        store.data_mut().memory = instance.get_memory(&mut *store, "memory");
        for start in &self.starts {
            let func = instance.get_typed_func::<(), ()>(&mut *store, start)?;
            if let Err(error) = func.call(&mut *store, ()) {
                // A WASI program that exits 0 from `_start` initialised fine.
                let clean_exit = error
                    .downcast_ref::<wasmtime_wasi::I32Exit>()
                    .is_some_and(|e| e.0 == 0);
                if !clean_exit {
                    return Err(error);
                }
            }
        }
        instance.get_typed_func::<(i32, i32), i32>(&mut *store, "__guest_call")
    }
}

type GuestCall = wasmtime::TypedFunc<(i32, i32), i32>;

/// A kept instance of a [`Policy`]; see [`Policy::session`].
pub struct Session<'p> {
    policy: &'p Policy,
    store: Store<HostState>,
    guest_call: GuestCall,
}

impl Session<'_> {
    /// Calls waPC operation `operation` with `payload` in this session's instance.
    pub fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, CallError> {
        self.store.data_mut().wapc = wapc::Exchange::new(operation, payload);
        self.policy.arm_deadline(&mut self.store);
        call_guest(&mut self.store, &self.guest_call, operation, payload)
            .map_err(|error| classify(error, &self.store, &self.policy.config))
    }

    /// The size of the instance's linear memory, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store
            .data()
            .memory
            .map_or(0, |memory| memory.data_size(&self.store))
    }
}

/// One `__guest_call`: the guest fetches the request, then answers or reports an error.
fn call_guest(
    store: &mut Store<HostState>,
    guest_call: &GuestCall,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, wasmtime::Error> {
    let op_len = i32::try_from(operation.len())
        .map_err(|_| wasmtime::format_err!("operation name too long"))?;
    let msg_len =
        i32::try_from(payload.len()).map_err(|_| wasmtime::format_err!("payload too large"))?;
    let ok = guest_call.call(&mut *store, (op_len, msg_len))?;
    let exchange = &mut store.data_mut().wapc;
    if ok == 1 {
        exchange
            .response
            .take()
            .ok_or_else(|| wasmtime::format_err!("the guest reported success but sent no response"))
    } else {
        let message = exchange
            .guest_error
            .take()
            .map(|e| String::from_utf8_lossy(&e).into_owned())
            .unwrap_or_else(|| "the guest reported failure without an error message".to_owned());
        Err(wasmtime::Error::new(GuestMarker(message)))
    }
}

#[derive(Debug)]
struct GuestMarker(String);

impl fmt::Display for GuestMarker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GuestMarker {}

/// [`classify`] for a failure while the instance was being made and initialised.
fn classify_init(
    error: wasmtime::Error,
    store: &Store<HostState>,
    config: &SandboxConfig,
) -> CallError {
    match classify(error, store, config) {
        CallError::Timeout(limit) => CallError::InitTimeout(limit),
        other => other,
    }
}

fn classify(error: wasmtime::Error, store: &Store<HostState>, config: &SandboxConfig) -> CallError {
    if let Some(GuestMarker(message)) = error.downcast_ref::<GuestMarker>() {
        return CallError::Guest(message.clone());
    }
    if store.data().limiter.hit {
        return CallError::MemoryLimit(config.memory_limit);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout(config.deadline),
        Some(trap) => CallError::Trap(trap.to_string()),
        None => CallError::Protocol(format!("{error:#}")),
    }
}

/// How much of each instance's memory (and table) the pooling allocator keeps mapped when
/// the instance ends, so the next instance in the slot takes no page faults.
///
/// On Linux 6.7 and later wasmtime asks the kernel (the `PAGEMAP_SCAN` ioctl) which pages
/// of the instance's memory are no longer the initial image's or the zero page, and resets
/// those, lowest address first, up to this many bytes; the rest it gives back to the
/// kernel. The initial image is mapped copy-on-write, so its pages that were only read are
/// never copied. A page once written and reset stays a page of its own, so the next
/// instance in the slot resets it again, written or not: with a whole 1 MiB kept, one
/// request of ~265 KB left every later small pod's fresh `validate` in its slot at 14.3
/// instead of 8.3 µs. 128 KiB covers what every bench pod writes (stack top, statics, the
/// start of the heap; the 65 KB large pod takes no faults) and bounds that at 10.2 µs; a
/// request that writes more pays the faults of its own extra pages instead (the ~265 KB
/// one: ~200 → ~320 µs). Measured interleaved by `bench-report --only slot`.
const KEEP_RESIDENT_SCANNED: usize = 128 * 1024;

/// Without `PAGEMAP_SCAN` the kept region is reset with `memset` whether it was written or
/// not, so it is kept to what a typical evaluation touches: the stack, the data and the
/// start of the arena. Old and new builds run interleaved gave 74–80 µs (nothing kept,
/// copy-on-write, 12 minor faults per call) and 46–57 µs (384 KiB kept, 0 faults) for the
/// fresh-instance `validate` of the typical pod (host-runner/examples/profile_paced.rs).
/// The initial image is then copied in, not mapped copy-on-write: for 44 KB of data that
/// is cheaper than the faults it saves.
const KEEP_RESIDENT_MEMSET: usize = 384 * 1024;

fn engine_for(config: &SandboxConfig) -> Result<Engine> {
    let mut wasm = Config::new();
    wasm.epoch_interruption(true);
    let scanned = PoolingAllocationConfig::is_pagemap_scan_available();
    let keep_resident = if scanned {
        KEEP_RESIDENT_SCANNED
    } else {
        KEEP_RESIDENT_MEMSET
    };
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_core_instances(config.max_instances)
        .total_memories(config.max_instances)
        .total_tables(config.max_instances)
        .max_memory_size(config.memory_limit)
        .linear_memory_keep_resident(keep_resident)
        .table_keep_resident(keep_resident)
        .pagemap_scan(if scanned {
            wasmtime::Enabled::Yes
        } else {
            wasmtime::Enabled::No
        });
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    wasm.memory_init_cow(scanned);
    if let Some(dir) = &config.cache_dir {
        match cache_for(dir) {
            Ok(cache) => {
                wasm.cache(Some(cache));
            }
            Err(error) => eprintln!("podsec: compiled-module cache disabled ({error:#})"),
        }
    }
    Engine::new(&wasm).map_err(|e| anyhow!("cannot create the wasm engine: {e}"))
}

fn cache_for(dir: &std::path::Path) -> Result<wasmtime::Cache> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cache = wasmtime::CacheConfig::new();
    cache.with_directory(dir);
    wasmtime::Cache::new(cache).map_err(|e| anyhow!("{e}"))
}

/// Advances one engine's epoch every [`EPOCH_TICK`] on a thread of its own, so that store
/// deadlines fire; the thread stops when the ticker is dropped (with its [`Policy`]).
struct EpochTicker {
    /// Dropping it wakes the thread, which then ends.
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How [`EpochTicker::start_with`] starts its thread: `std::thread::Builder::spawn` in
/// production.
type Spawn = fn(
    std::thread::Builder,
    Box<dyn FnOnce() + Send>,
) -> std::io::Result<std::thread::JoinHandle<()>>;

impl EpochTicker {
    /// Starts ticking `engine`'s epoch; fails when no thread can be started, since without
    /// it no deadline would ever fire.
    fn start(engine: &Engine) -> Result<EpochTicker> {
        EpochTicker::start_with(engine, |builder, body| builder.spawn(body))
    }

    fn start_with(engine: &Engine, spawn: Spawn) -> Result<EpochTicker> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let engine = engine.clone();
        let body = Box::new(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(EPOCH_TICK)
            {
                engine.increment_epoch();
            }
        });
        let builder = std::thread::Builder::new().name("podsec-epoch".to_owned());
        let thread = spawn(builder, body).map_err(|e| {
            anyhow!("cannot start the thread that enforces evaluation deadlines: {e}")
        })?;
        Ok(EpochTicker {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread only sleeps and ticks; a panic there has nothing to report.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    static EXITED: AtomicBool = AtomicBool::new(false);

    #[test]
    fn the_ticker_stops_when_dropped() {
        let engine = Engine::default();
        let ticker = EpochTicker::start_with(&engine, |builder, body| {
            builder.spawn(move || {
                body();
                EXITED.store(true, Ordering::SeqCst);
            })
        })
        .expect("the ticker starts");
        std::thread::sleep(EPOCH_TICK * 3);
        assert!(
            !EXITED.load(Ordering::SeqCst),
            "the ticker runs until dropped"
        );
        drop(ticker);
        assert!(
            EXITED.load(Ordering::SeqCst),
            "dropping the ticker ends its thread"
        );
    }

    #[test]
    fn a_ticker_that_cannot_start_is_an_error() {
        let engine = Engine::default();
        let error = EpochTicker::start_with(&engine, |_, _| {
            Err(std::io::Error::other("no threads left"))
        })
        .err()
        .expect("no thread, no ticker");
        let text = error.to_string();
        assert!(text.contains("enforces evaluation deadlines"), "{text}");
        assert!(text.contains("no threads left"), "{text}");
    }
}
