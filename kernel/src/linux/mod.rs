//! The Linux personality's hardware-free logic: a program without the
//! native ELF note (see [`crate::elf::Elf::is_native`]) is a Linux x86-64
//! program, and its system calls below `abi::NATIVE_BASE` are Linux's. This
//! module decodes their arguments and keeps their state (start stack,
//! clone flags, memory requests, the program break, futex queues, signal
//! state, `select`'s descriptor sets); the kernel image's `syscall::linux` carries them out.

pub mod clone;
pub mod futex;
pub mod mm;
pub mod names;
pub mod pending;
pub mod select;
pub mod sigframe;
pub mod signal;
pub mod start;

/// What a Linux process has beyond a native one.
#[derive(Clone)]
pub struct LinuxProcess {
    /// The program break (`brk`).
    pub brk: mm::Brk,
    /// Its signal actions.
    pub actions: signal::Actions,
    /// Signals sent to the process (kill, alarm, SIGCHLD), not yet taken
    /// by one of its threads.
    pub pending: pending::Pending,
}

impl LinuxProcess {
    /// A process whose program break starts at `brk_start`.
    pub fn new(brk_start: u64) -> LinuxProcess {
        LinuxProcess {
            brk: mm::Brk::new(brk_start),
            actions: signal::Actions::new(),
            pending: pending::Pending::new(),
        }
    }

    /// What a forked child has of it: the same break and actions, nothing
    /// pending.
    pub fn forked(&self) -> LinuxProcess {
        LinuxProcess {
            pending: pending::Pending::new(),
            ..self.clone()
        }
    }

    /// What `execve` keeps of it for a new Linux image whose program break
    /// starts at `brk_start`: the pending signals, and the actions as
    /// [`signal::Actions::after_exec`] says.
    pub fn after_exec(&self, brk_start: u64) -> LinuxProcess {
        LinuxProcess {
            brk: mm::Brk::new(brk_start),
            actions: self.actions.after_exec(),
            pending: self.pending.clone(),
        }
    }
}

/// What a Linux thread has beyond a native one.
#[derive(Clone, Debug, Default)]
pub struct LinuxThread {
    /// `set_tid_address`/`CLONE_CHILD_CLEARTID`: at the thread's exit, 0 is
    /// stored here and one futex waiter woken (0: none).
    pub clear_child_tid: u64,
    /// Its signal mask, alternate stack and pending signals.
    pub signals: signal::ThreadSignals,
}
