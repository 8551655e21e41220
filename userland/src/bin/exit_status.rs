//! Exits with the status given as its argument, so tests can check that a
//! program's exit status reaches the host.
#![no_std]
#![no_main]

userland::entry!(main);

fn main() -> i32 {
    userland::arg(1).and_then(|a| a.parse().ok()).unwrap_or(1)
}
