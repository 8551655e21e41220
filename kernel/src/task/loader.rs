//! Starting programs: a program is an ELF file, found by path in the file
//! system (the boot archive's members are under `/bin`). The loader
//! validates it and builds a fresh address space with its segments and a
//! stack holding its arguments and environment ([`load`]). A native
//! program (one with the runtime's ELF note) finds them as a table of
//! `abi::UserArg`s; any other is a Linux program, started as the System V
//! ABI says (`kernel::linux::start`) and run by the Linux personality.
//! `spawn` gives the image a new process and a first thread that enters
//! it, `execve` (in `fork.rs`) the calling process.

use super::SCHED;
use crate::arch::traps::TrapFrame;
use crate::mem::PAGE_SIZE;
use crate::mem::space::{AddressSpace, MapError, USER_END, USER_START};
use crate::mem::user::UserSlice;
use abi::{Errno, MAIN_STACK_SIZE, MAIN_STACK_TOP, MAX_PROCESSES, UserArg};
use alloc::vec::Vec;
use kernel::cap::Program;
use kernel::elf::{Elf, ElfError};
use kernel::fs::Cred;
use kernel::linux::start::{StartInfo, at, initial_stack};

/// Top of a program's main stack (an unmapped page lies above it).
const STACK_TOP: u64 = MAIN_STACK_TOP;
/// Size of the main stack; the page below it stays unmapped as a guard.
const STACK_PAGES: u64 = MAIN_STACK_SIZE / PAGE_SIZE;
/// Where a position-independent program's lowest page goes (where linkers
/// put executables).
const PIE_BASE: u64 = 0x40_0000;
/// Initial RFLAGS of user threads: interrupts on.
const USER_RFLAGS: u64 = 0x202;
/// The largest regular file the kernel loads as a program (it copies the
/// file while loading it; the boot archive's programs are not copied).
pub const MAX_PROGRAM_FILE: usize = 8 << 20;

fn map_err(_: MapError) -> Errno {
    Errno::ENOMEM
}

/// A user-mode entry frame.
pub fn user_frame(rip: u64, rsp: u64, rdi: u64, rsi: u64) -> TrapFrame {
    TrapFrame {
        rip,
        rsp,
        rdi,
        rsi,
        cs: 0x23,
        ss: 0x1b,
        rflags: USER_RFLAGS,
        ..TrapFrame::default()
    }
}

/// A program loaded into a fresh address space, ready to start.
pub struct Image {
    pub space: AddressSpace,
    /// The registers its first thread starts with.
    pub frame: TrapFrame,
    /// For a Linux program, the end of its data (where its `brk` starts);
    /// `None` for a native program.
    pub linux_end: Option<u64>,
}

/// The bytes of `program`.
pub fn bytes(program: &Program) -> &[u8] {
    match program {
        Program::Boot(bytes) => bytes,
        Program::File(bytes) => bytes.as_slice(),
    }
}

/// Loads ELF program `image` (named `name` in log lines) into a new
/// address space whose `mem_map` areas are capped at `memory_limit`, with
/// a stack that holds `args` (argument 0 first) and `env`, as a native or
/// a Linux program (which starts with `cred` in its auxiliary vector)
/// wants them. Nothing else changes: a failure leaves no trace (the system
/// calls bound the strings well below `abi::MAIN_STACK_ARGS_RESERVE`).
/// Errors: ENOEXEC (not a valid static program), ENOMEM.
pub fn load(
    name: &str,
    image: &[u8],
    args: &[&[u8]],
    env: &[&[u8]],
    memory_limit: u64,
    cred: doors::Cred,
) -> Result<Image, Errno> {
    let elf = Elf::parse_program(image, USER_START, USER_END, PIE_BASE).map_err(|e| {
        if e == ElfError::Dynamic {
            crate::warn!("{name} is dynamically linked: only static programs run here");
        }
        Errno::ENOEXEC
    })?;
    let mut space = AddressSpace::new().ok_or(Errno::ENOMEM)?;
    space.set_map_limit(memory_limit);
    for seg in elf.segments() {
        let pages = (seg.page_end() - seg.page_start()) / PAGE_SIZE;
        space
            .map_zeroed(seg.page_start(), pages, seg.writable(), seg.executable())
            .map_err(map_err)?;
        let data = elf.segment_data(&seg);
        UserSlice::<u8>::new(seg.vaddr, data.len() as u64)?.load(&space, data)?;
    }
    let stack_bottom = STACK_TOP - STACK_PAGES * PAGE_SIZE;
    space
        .map_zeroed(stack_bottom, STACK_PAGES, true, false)
        .map_err(map_err)?;
    let (frame, linux_end) = match elf.is_native() {
        true => (native_start(&space, &elf, args, env)?, None),
        false => (linux_start(&space, &elf, args, env, cred)?, Some(elf.end())),
    };
    Ok(Image {
        space,
        frame,
        linux_end,
    })
}

/// Starts program `name` (a path with a `/`, else a program of `/bin`,
/// found with `parent`'s current directory and credentials; the kernel,
/// `parent` 0, starts `init`) with `args` (argument 0, the name, is
/// added) and no environment; returns the new process's id.
pub fn spawn(parent: u32, name: &str, args: &[&[u8]], fds: &[i32]) -> Result<u32, Errno> {
    let mut g = SCHED.lock();
    if g.counts().0 >= MAX_PROCESSES {
        return Err(Errno::EAGAIN);
    }
    g.may_add_thread()?;
    let ids = g.process(parent).map(|p| p.cred);
    let cred = ids.map_or(Cred::ROOT, Into::into);
    let program = g
        .objects()
        .program(parent, cred, name.as_bytes(), MAX_PROGRAM_FILE)?;
    let memory_limit = g.child_memory_limit(parent);
    drop(g);
    let all: Vec<&[u8]> = core::iter::once(name.as_bytes())
        .chain(args.iter().copied())
        .collect();
    let ids = ids.unwrap_or_default();
    let image = load(name, bytes(&program), &all, &[], memory_limit, ids)?;
    let mut g = SCHED.lock();
    let pid = g.add_process(parent, name, image.space, fds)?;
    let tid = match g.add_user_thread(pid, &image.frame) {
        Ok(tid) => tid,
        Err(e) => {
            g.procs.remove(&pid);
            g.objects().exit_process(pid);
            g.handle_events();
            return Err(e);
        }
    };
    g.set_personality(pid, tid, image.linux_end);
    crate::trace::spawn(pid, parent, name);
    crate::debug!("spawned process {pid} ({name})");
    Ok(pid)
}

/// A native program's start: the strings at the top of the stack, the
/// `(ptr, len)` table of the arguments and then of the environment below
/// them, and the stack pointer below that as if `_start(table, argc,
/// envc)` had been called.
fn native_start(
    space: &AddressSpace,
    elf: &Elf,
    args: &[&[u8]],
    env: &[&[u8]],
) -> Result<TrapFrame, Errno> {
    let all: Vec<&[u8]> = args.iter().chain(env).copied().collect();
    let text_len: u64 = all.iter().map(|a| a.len() as u64).sum();
    let table_len = all.len() as u64 * size_of::<UserArg>() as u64;
    let text_at = (STACK_TOP - text_len) & !15;
    let table_at = (text_at - table_len) & !15;
    let mut table = Vec::with_capacity(all.len());
    let mut at = text_at;
    for a in &all {
        UserSlice::<u8>::new(at, a.len() as u64)?.write_bytes(space, a)?;
        table.push(UserArg {
            ptr: at,
            len: a.len() as u64,
        });
        at += a.len() as u64;
    }
    UserSlice::<UserArg>::new(table_at, table.len() as u64)?.write_all(space, &table)?;
    Ok(TrapFrame {
        rdx: env.len() as u64,
        ..user_frame(elf.entry(), table_at - 8, table_at, args.len() as u64)
    })
}

/// A Linux program's start: `argc`, `argv`, the environment and the
/// auxiliary vector, with the stack pointer at `argc` and every other
/// register 0 (`rdx` 0: no function for `atexit`).
fn linux_start(
    space: &AddressSpace,
    elf: &Elf,
    args: &[&[u8]],
    env: &[&[u8]],
    cred: doors::Cred,
) -> Result<TrapFrame, Errno> {
    let mut random = [0u8; 16];
    crate::random::fill(&mut random);
    let mut aux = alloc::vec![
        (at::PHDR, elf.phdr_address().unwrap_or(0)),
        (at::PHENT, 56),
        (at::PHNUM, elf.phnum() as u64),
        (at::PAGESZ, PAGE_SIZE),
        (at::BASE, 0),
        (at::FLAGS, 0),
        (at::ENTRY, elf.entry()),
        (at::UID, u64::from(cred.ruid)),
        (at::EUID, u64::from(cred.euid)),
        (at::GID, u64::from(cred.rgid)),
        (at::EGID, u64::from(cred.egid)),
        (
            at::SECURE,
            u64::from(cred.ruid != cred.euid || cred.rgid != cred.egid)
        ),
        (at::CLKTCK, u64::from(crate::arch::timer::HZ)),
        (at::HWCAP, 0),
    ];
    if elf.phdr_address().is_none() {
        // No way to tell the program where its headers are: leave the entry
        // out rather than point at nothing.
        aux.retain(|&(kind, _)| kind != at::PHDR);
    }
    let info = StartInfo {
        args,
        env,
        aux: &aux,
        random,
    };
    let stack = initial_stack(STACK_TOP, &info);
    UserSlice::<u8>::new(stack.sp, stack.bytes.len() as u64)?.write_bytes(space, &stack.bytes)?;
    Ok(user_frame(elf.entry(), stack.sp, 0, 0))
}
