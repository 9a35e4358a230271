//! podsec host integration tests: one binary, one module per feature.

mod apiserver;
mod cases;
mod cli;
mod fix;
mod hostile;
mod limits;
mod properties;
mod runtimes;
mod webhook;
