//! The client against real servers on 127.0.0.1 (no mocks of the HTTP
//! layer): one test binary, one module per area.

#[path = "../support/mod.rs"]
mod support;

mod api;
mod builder;
mod chunking;
mod concurrency;
mod emulator;
mod faults;
mod hostile;
mod secrets;
mod tls;
