//! The kernel's hardware-free logic: formats and bookkeeping that the
//! bare-metal image (`main.rs` and its modules) uses and that the host tests.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "alloc"))]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod bootfs;
#[cfg(any(test, feature = "alloc"))]
pub mod cap;
pub mod clock;
pub mod cow;
pub mod elf;
#[cfg(any(test, feature = "alloc"))]
pub mod fifo;
pub mod frames;
#[cfg(any(test, feature = "alloc"))]
pub mod fs;
pub mod io;
pub mod job;
#[cfg(any(test, feature = "alloc"))]
pub mod joins;
#[cfg(any(test, feature = "alloc"))]
pub mod linux;
pub mod pids;
#[cfg(any(test, feature = "alloc"))]
pub mod pipe;
#[cfg(any(test, feature = "alloc"))]
pub mod runq;
pub mod session;
pub mod signal;
#[cfg(any(test, feature = "alloc"))]
pub mod slots;
#[cfg(any(test, feature = "alloc"))]
pub mod socket;
pub mod wait;
