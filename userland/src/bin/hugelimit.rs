//! A limit too large for `get_limit` to return is refused. `get_limit`
//! returns a limit as a non-negative system call result, so a value above
//! `i64::MAX` would come back as an error (`u64::MAX` as -1, EPERM). Even
//! with euid 0, `set_limit` refuses such a value with EINVAL and the limit
//! stays what it was (found by the fuzzer: a privileged worker raised a
//! limit to `u64::MAX`, and `get_limit` then failed).
#![no_std]
#![no_main]

use userland::abi::{Errno, limit};
use userland::testkit::verdict;
use userland::{check, process};

userland::entry!(main);

fn main() -> i32 {
    let resources = [
        ("threads", limit::THREADS),
        ("memory", limit::MEMORY),
        ("children", limit::CHILDREN),
        ("descriptors", limit::DESCRIPTORS),
    ];
    for (name, resource) in resources {
        let before = process::get_limit(0, resource);
        check!(before.is_ok(), "{name}: get_limit failed with {before:?}");
        for value in [(i64::MAX as u64) + 1, u64::MAX] {
            let set = process::set_limit(0, resource, value);
            check!(
                set == Err(Errno::EINVAL),
                "{name}: set_limit to {value:#x} gave {set:?}, expected EINVAL"
            );
            let after = process::get_limit(0, resource);
            check!(
                after == before,
                "{name}: the limit was {before:?}, after set_limit to {value:#x} it is {after:?}"
            );
        }
    }
    verdict(true)
}
