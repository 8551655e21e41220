//! Starting programs: a program is an ELF file, found by path in the file
//! system (the boot archive's members are under `/bin`). The loader
//! validates it, builds a fresh address space with its segments, a stack
//! holding its arguments, and a first thread that enters it.

use super::SCHED;
use crate::arch::traps::TrapFrame;
use crate::mem::PAGE_SIZE;
use crate::mem::space::{AddressSpace, MapError, USER_END, USER_START};
use crate::mem::user::UserSlice;
use abi::{Errno, MAIN_STACK_SIZE, MAIN_STACK_TOP, MAX_PROCESSES, UserArg};
use alloc::vec::Vec;
use kernel::cap::Program;
use kernel::elf::Elf;
use kernel::fs::Cred;

/// Top of a program's main stack (an unmapped page lies above it).
const STACK_TOP: u64 = MAIN_STACK_TOP;
/// Size of the main stack; the page below it stays unmapped as a guard.
const STACK_PAGES: u64 = MAIN_STACK_SIZE / PAGE_SIZE;
/// Initial RFLAGS of user threads: interrupts on.
const USER_RFLAGS: u64 = 0x202;
/// The largest regular file the kernel loads as a program (it copies the
/// file while loading it; the boot archive's programs are not copied).
const MAX_PROGRAM_FILE: usize = 8 << 20;

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

/// Starts program `name` (a path with a `/`, else a program of `/bin`,
/// found with `parent`'s current directory and credentials; the kernel,
/// `parent` 0, starts `init`) with `args` (argument 0, the name, is
/// added); returns the new process's id.
pub fn spawn(parent: u32, name: &str, args: &[&[u8]], fds: &[i32]) -> Result<u32, Errno> {
    let mut g = SCHED.lock();
    if g.counts().0 >= MAX_PROCESSES {
        return Err(Errno::EAGAIN);
    }
    let cred = g.process(parent).map_or(Cred::ROOT, |p| p.cred.into());
    let program = g
        .objects()
        .program(parent, cred, name.as_bytes(), MAX_PROGRAM_FILE)?;
    let memory_limit = g.child_memory_limit(parent);
    drop(g);
    let image = match &program {
        Program::Boot(bytes) => bytes,
        Program::File(bytes) => bytes.as_slice(),
    };
    let elf = Elf::parse(image, USER_START, USER_END).map_err(|_| Errno::ENOEXEC)?;
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

    // Argument strings at the top of the stack, the (ptr, len) table below
    // them, and the stack pointer below that as if `_start` had been called.
    let all: Vec<&[u8]> = core::iter::once(name.as_bytes())
        .chain(args.iter().copied())
        .collect();
    let text_len: u64 = all.iter().map(|a| a.len() as u64).sum();
    let text_at = (STACK_TOP - text_len) & !15;
    let table_at = (text_at - all.len() as u64 * size_of::<UserArg>() as u64) & !15;
    let mut table = Vec::with_capacity(all.len());
    let mut at = text_at;
    for a in &all {
        UserSlice::<u8>::new(at, a.len() as u64)?.write_bytes(&space, a)?;
        table.push(UserArg {
            ptr: at,
            len: a.len() as u64,
        });
        at += a.len() as u64;
    }
    UserSlice::<UserArg>::new(table_at, table.len() as u64)?.write_all(&space, &table)?;
    let frame = user_frame(elf.entry(), table_at - 8, table_at, all.len() as u64);

    let mut g = SCHED.lock();
    let pid = g.add_process(parent, name, space, fds)?;
    if let Err(e) = g.add_user_thread(pid, &frame) {
        g.procs.remove(&pid);
        g.objects().exit_process(pid);
        g.handle_events();
        return Err(e);
    }
    crate::debug!("spawned process {pid} ({name})");
    Ok(pid)
}
