//! A Rust program with std, built for `x86_64-unknown-linux-musl` and run
//! unchanged on the kernel's Linux personality: `println!`, arguments,
//! threads with a `Mutex` and a `Condvar`, `std::time`, `std::fs` on the
//! RAM file system, heap allocation.
//! Each check prints one line; a failed check panics (exit status 101).
//! With the argument `overflow` it overflows a thread's stack instead:
//! std's SIGSEGV handler (on its alternate stack) reports it and aborts.

use std::fs;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const THREADS: usize = 8;
const ROUNDS: usize = 1000;

/// Recurses until the stack runs out (`limit` is never reached).
fn deeper(depth: u64, limit: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if depth == limit {
        return frame[0];
    }
    deeper(depth + 1, limit) + frame[1]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "overflow") {
        println!("rust_std: overflowing a thread's stack");
        let deep = thread::spawn(|| deeper(0, std::hint::black_box(u64::MAX)));
        println!("rust_std: returned {:?}", deep.join().is_ok());
        return;
    }
    println!("rust_std: args {:?}", &args[1..]);

    // Threads: every one adds to a shared counter under a mutex, then the
    // last one to finish wakes the main thread through a condition variable.
    let state = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let state = Arc::clone(&state);
            thread::spawn(move || {
                let (lock, cv) = &*state;
                for _ in 0..ROUNDS {
                    lock.lock().unwrap().0 += 1;
                }
                let mut s = lock.lock().unwrap();
                s.1 += 1;
                if s.1 == THREADS {
                    cv.notify_all();
                }
                i * 2
            })
        })
        .collect();
    {
        let (lock, cv) = &*state;
        let s = cv
            .wait_while(lock.lock().unwrap(), |s| s.1 < THREADS)
            .unwrap();
        assert_eq!(s.0, THREADS * ROUNDS);
    }
    let sum: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, (0..THREADS).map(|i| i * 2).sum());
    println!(
        "rust_std: {THREADS} threads counted to {}",
        THREADS * ROUNDS
    );

    // Time: a sleep lasts at least what was asked, and the wall clock is
    // past 2020 (it comes from the machine's real-time clock).
    let start = Instant::now();
    thread::sleep(Duration::from_millis(30));
    let slept = start.elapsed();
    assert!(slept >= Duration::from_millis(30), "slept only {slept:?}");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(now.as_secs() > 1_577_836_800, "wall clock at {now:?}");
    println!("rust_std: sleep and clocks ok");

    // Files: /tmp is writable, /bin holds the programs (read-only).
    fs::create_dir("/tmp/rust_std").unwrap();
    let path = "/tmp/rust_std/notes.txt";
    let mut f = fs::File::create(path).unwrap();
    for i in 0..100 {
        writeln!(f, "note {i}").unwrap();
    }
    drop(f);
    let text = fs::read_to_string(path).unwrap();
    assert_eq!(text.lines().count(), 100);
    assert_eq!(text.lines().nth(42), Some("note 42"));
    let meta = fs::metadata(path).unwrap();
    assert!(meta.is_file() && meta.len() == text.len() as u64);
    // File times are real time too.
    let modified = meta.modified().unwrap().duration_since(UNIX_EPOCH).unwrap();
    assert!(
        modified.as_secs() > 1_577_836_800,
        "modified at {modified:?}"
    );
    let mut appended = fs::OpenOptions::new().append(true).open(path).unwrap();
    appended.write_all(b"last\n").unwrap();
    let mut again = String::new();
    fs::File::open(path)
        .unwrap()
        .read_to_string(&mut again)
        .unwrap();
    assert!(again.ends_with("note 99\nlast\n"));
    fs::rename(path, "/tmp/rust_std/moved.txt").unwrap();
    let names: Vec<String> = fs::read_dir("/tmp/rust_std")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["moved.txt"]);
    assert!(fs::metadata("/bin/rust_std").unwrap().is_file());
    let err = fs::write("/bin/nope", b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(30), "EROFS: {err}");
    fs::remove_file("/tmp/rust_std/moved.txt").unwrap();
    fs::remove_dir("/tmp/rust_std").unwrap();
    assert!(fs::metadata("/tmp/rust_std").is_err());
    println!("rust_std: std::fs ok");

    // The heap: many sizes, some large enough for their own mappings.
    let mut blocks: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 1 << (i % 20)]).collect();
    blocks.retain(|b| b.len() % 3 != 0);
    assert!(blocks.iter().all(|b| b.iter().all(|&x| x == b[0])));
    println!("rust_std: heap ok");
    println!("rust_std: done");
}
