//! How a Linux program starts (System V x86-64 ABI, §3.4.1): its stack
//! pointer points at `argc`, followed by the `argv` pointers and a NULL, the
//! `envp` pointers and a NULL, and the auxiliary vector (`(type, value)`
//! pairs ending with `AT_NULL`); the strings and the 16 random bytes that
//! `AT_RANDOM` points to lie above, at the top of the stack. C libraries
//! find their program headers (and so their TLS template) through
//! `AT_PHDR`, and seed their stack protector from `AT_RANDOM`.

use alloc::vec;
use alloc::vec::Vec;

/// Auxiliary vector entry types (`<elf.h>`).
pub mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHENT: u64 = 4;
    pub const PHNUM: u64 = 5;
    pub const PAGESZ: u64 = 6;
    pub const BASE: u64 = 7;
    pub const FLAGS: u64 = 8;
    pub const ENTRY: u64 = 9;
    pub const UID: u64 = 11;
    pub const EUID: u64 = 12;
    pub const GID: u64 = 13;
    pub const EGID: u64 = 14;
    pub const PLATFORM: u64 = 15;
    pub const HWCAP: u64 = 16;
    pub const CLKTCK: u64 = 17;
    pub const SECURE: u64 = 23;
    pub const RANDOM: u64 = 25;
    pub const EXECFN: u64 = 31;
}

/// What `AT_PLATFORM` names.
const PLATFORM: &[u8] = b"x86_64";

/// What a new Linux process finds on its stack.
pub struct StartInfo<'a> {
    /// The arguments, the program name first.
    pub args: &'a [&'a [u8]],
    /// The environment (`NAME=value` strings).
    pub env: &'a [&'a [u8]],
    /// Auxiliary vector entries with plain values (`AT_RANDOM`,
    /// `AT_EXECFN` and `AT_PLATFORM`, which point into the stack, and
    /// `AT_NULL` are added).
    pub aux: &'a [(u64, u64)],
    /// The bytes `AT_RANDOM` points to.
    pub random: [u8; 16],
}

/// The top of a new stack: `bytes` go at `sp` and end at the `top` given.
pub struct InitialStack {
    pub sp: u64,
    pub bytes: Vec<u8>,
}

/// Lays out the start of a Linux process's stack below `top` (16-byte
/// aligned): `sp` is where the program's stack pointer starts (16-byte
/// aligned, pointing at `argc`).
pub fn initial_stack(top: u64, info: &StartInfo) -> InitialStack {
    // Everything above the vector, from the top down: the random bytes,
    // the platform name, then the strings.
    let random_at = top - 16;
    let platform_at = random_at - (PLATFORM.len() as u64 + 1);
    let strings_len: u64 = info
        .args
        .iter()
        .chain(info.env)
        .map(|s| s.len() as u64 + 1)
        .sum();
    let strings_at = platform_at - strings_len;
    let mut at = strings_at;
    let mut pointers = |list: &[&[u8]]| -> Vec<u64> {
        list.iter()
            .map(|s| {
                let p = at;
                at += s.len() as u64 + 1;
                p
            })
            .collect()
    };
    let argv = pointers(info.args);
    let envp = pointers(info.env);
    let execfn = argv.first().copied().unwrap_or(0);
    let mut aux: Vec<(u64, u64)> = info.aux.to_vec();
    aux.extend([
        (at::RANDOM, random_at),
        (at::PLATFORM, platform_at),
        (at::EXECFN, execfn),
        (at::NULL, 0),
    ]);
    let words = 1 + argv.len() + 1 + envp.len() + 1 + 2 * aux.len();
    let sp = ((strings_at & !15) - words as u64 * 8) & !15;

    let mut bytes = vec![0u8; (top - sp) as usize];
    let mut put = |addr: u64, data: &[u8]| {
        let off = (addr - sp) as usize;
        bytes[off..off + data.len()].copy_from_slice(data);
    };
    let mut word_at = sp;
    let mut word = |value: u64| {
        put(word_at, &value.to_le_bytes());
        word_at += 8;
    };
    word(info.args.len() as u64);
    argv.iter().for_each(|&p| word(p));
    word(0);
    envp.iter().for_each(|&p| word(p));
    word(0);
    for &(kind, value) in &aux {
        word(kind);
        word(value);
    }
    for (s, &p) in info
        .args
        .iter()
        .chain(info.env)
        .zip(argv.iter().chain(&envp))
    {
        put(p, s);
    }
    put(platform_at, PLATFORM);
    put(random_at, &info.random);
    InitialStack { sp, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// Reads a start stack the way a C library's `_start` does.
    struct Parsed {
        argv: Vec<String>,
        envp: Vec<String>,
        aux: Vec<(u64, u64)>,
    }

    fn parse(stack: &InitialStack) -> Parsed {
        let word = |addr: u64| {
            let off = (addr - stack.sp) as usize;
            u64::from_le_bytes(stack.bytes[off..off + 8].try_into().unwrap())
        };
        let string = |addr: u64| {
            let off = (addr - stack.sp) as usize;
            let len = stack.bytes[off..].iter().position(|&b| b == 0).unwrap();
            String::from_utf8(stack.bytes[off..off + len].to_vec()).unwrap()
        };
        let argc = word(stack.sp);
        let mut at = stack.sp + 8;
        let argv = (0..argc).map(|i| string(word(at + i * 8))).collect();
        at += argc * 8;
        assert_eq!(word(at), 0, "argv ends with NULL");
        at += 8;
        let mut envp = Vec::new();
        while word(at) != 0 {
            envp.push(string(word(at)));
            at += 8;
        }
        at += 8;
        let mut aux = Vec::new();
        loop {
            let (kind, value) = (word(at), word(at + 8));
            aux.push((kind, value));
            at += 16;
            if kind == at::NULL {
                break;
            }
        }
        Parsed { argv, envp, aux }
    }

    const TOP: u64 = 0x7fff_ffff_0000;

    #[test]
    fn lays_out_argc_argv_envp_auxv() {
        let info = StartInfo {
            args: &[b"prog", b"one", b""],
            env: &[b"HOME=/"],
            aux: &[(at::PAGESZ, 4096), (at::PHNUM, 6)],
            random: [7; 16],
        };
        let stack = initial_stack(TOP, &info);
        assert_eq!(stack.sp % 16, 0);
        assert_eq!(stack.sp + stack.bytes.len() as u64, TOP);
        let p = parse(&stack);
        assert_eq!(p.argv, ["prog", "one", ""]);
        assert_eq!(p.envp, ["HOME=/"]);
        let value = |kind| p.aux.iter().find(|a| a.0 == kind).map(|a| a.1);
        assert_eq!(value(at::PAGESZ), Some(4096));
        assert_eq!(value(at::PHNUM), Some(6));
        assert_eq!(p.aux.last(), Some(&(at::NULL, 0)));
        let random = value(at::RANDOM).unwrap();
        assert_eq!(random % 8, 0);
        let off = (random - stack.sp) as usize;
        assert_eq!(&stack.bytes[off..off + 16], &[7; 16]);
        let text = |addr: u64| {
            let off = (addr - stack.sp) as usize;
            &stack.bytes[off..off + 7]
        };
        assert_eq!(text(value(at::PLATFORM).unwrap()), b"x86_64\0");
        assert_eq!(&text(value(at::EXECFN).unwrap())[..5], b"prog\0");
    }

    #[test]
    fn the_largest_arguments_fit_the_reserved_top() {
        let arg = [b'x'; 127];
        let args: Vec<&[u8]> = (0..abi::MAX_ARGS).map(|_| &arg[..]).collect();
        assert!(
            args.iter().map(|a| a.len() + 1).sum::<usize>() <= abi::MAX_ARGS_BYTES + abi::MAX_ARGS
        );
        let info = StartInfo {
            args: &args,
            env: &[],
            aux: &[(0x100, 0); 24],
            random: [0; 16],
        };
        let stack = initial_stack(TOP, &info);
        assert!((TOP - stack.sp) <= abi::MAIN_STACK_ARGS_RESERVE);
        assert_eq!(parse(&stack).argv.len(), abi::MAX_ARGS);
    }
}
