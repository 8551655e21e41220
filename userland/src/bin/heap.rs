//! The heap: many small allocations, a large one that makes the heap grow,
//! freeing and reuse, and collections.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use userland::abi::kstat::FREE_FRAMES;
use userland::heap::{map, unmap};
use userland::{println, process};

userland::entry!(main);

/// Mapping and unmapping an area gives back every frame, page tables
/// included.
fn map_unmap_returns_every_frame() -> bool {
    let free = || process::kstat(FREE_FRAMES).expect("kstat");
    let len = 4 << 20;
    let before = free();
    let Ok(addr) = map(len, 0) else { return false };
    let during = free();
    let unmapped = unmap(addr, len).is_ok();
    let after = free();
    if !unmapped || after != before || during + (len as u64 / 4096) > before {
        println!(
            "heap: free frames {before} before mapping 4 MiB, {during} while mapped, {after} after unmapping"
        );
        return false;
    }
    true
}

fn main() -> i32 {
    if !map_unmap_returns_every_frame() {
        return 1;
    }
    let big: Vec<u64> = (0..1_000_000u64).collect();
    let sum: u64 = big.iter().sum();
    if sum != 499_999_500_000 {
        println!("heap: big vector sum {sum}");
        return 1;
    }
    drop(big);
    let boxes: Vec<Box<[u8; 100]>> = (0..2000).map(|i| Box::new([i as u8; 100])).collect();
    if boxes
        .iter()
        .enumerate()
        .any(|(i, b)| b.iter().any(|&x| x != i as u8))
    {
        println!("heap: box contents corrupted");
        return 1;
    }
    drop(boxes);
    let mut map = BTreeMap::new();
    for i in 0..5000u32 {
        map.insert(i, alloc::format!("value {i}"));
    }
    let text: String = map
        .values()
        .filter(|v| v.ends_with("99"))
        .cloned()
        .collect();
    if map.len() != 5000 || !text.starts_with("value 99value 199") {
        println!("heap: map wrong");
        return 1;
    }
    let again: Vec<u64> = (0..1_000_000u64).collect();
    println!("heap: ok ({} elements after reuse)", again.len());
    0
}
