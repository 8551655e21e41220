//! Keeping serial logs: every boot's with `--log-dir DIR`, and a failing
//! integration test's under `target/qemu-logs/`, named after the test.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::images::workspace_root;

/// Where failing tests' serial logs go.
pub fn test_log_dir() -> PathBuf {
    workspace_root().join("target").join("qemu-logs")
}

/// `text` with every character but letters, digits, `-`, `_` and `.`
/// replaced by `_`, for a file name.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Saves the serial log of the running test (named after its thread, which
/// the test harness names after the test) and returns its path.
pub fn save_for_test(serial: &str) -> io::Result<PathBuf> {
    let thread = std::thread::current();
    let name = file_safe(thread.name().unwrap_or("report"));
    let dir = test_log_dir();
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.log"));
    fs::write(&path, serial)?;
    Ok(path)
}

/// Writes a boot's serial log into `dir` as
/// `<seconds since 1970>-<pid>-<n>-<first program>.log`; returns its path.
pub fn keep(dir: &Path, serial: &str, first_program: &str) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(dir)?;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "{secs}-{}-{n}-{}.log",
        std::process::id(),
        file_safe(first_program)
    );
    let path = dir.join(name);
    fs::write(&path, serial)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_safe() {
        assert_eq!(
            file_safe("door_calls::call/../x y"),
            "door_calls__call_.._x_y"
        );
    }

    #[test]
    fn keeps_logs_under_unique_names() {
        let dir = std::env::temp_dir().join(format!("qemu-logs-test-{}", std::process::id()));
        let a = keep(&dir, "one\n", "./prog.elf").unwrap();
        let b = keep(&dir, "two\n", "./prog.elf").unwrap();
        assert_ne!(a, b);
        assert!(
            a.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("-._prog.elf.log")
        );
        assert_eq!(fs::read_to_string(&b).unwrap(), "two\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
