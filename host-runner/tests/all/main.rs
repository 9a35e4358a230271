//! podsec host integration tests: one binary, one module per feature.

mod cases;
mod cli;
mod hostile;
mod properties;
mod runtimes;
mod webhook;
