//! fork and exec. fork is illumos's `fork1`: the child is a copy of the
//! calling thread only, with a copy-on-write copy of the address space
//! (`mem::space::cow`), of the descriptor table, current directory and
//! umask (`kernel::cap`'s fork) and of the door state as illumos defines it
//! (`doors`' fork). exec loads the new image completely before it touches
//! the calling process, so every error leaves the caller as it was; then
//! the other threads end, the doors are revoked, the close-on-exec
//! descriptors close and the new image replaces the old.

use super::loader::{self, Image, MAX_PROGRAM_FILE};
use super::{CpuTicks, HANDOFF_OFF, Process, Resume, SCHED, Sched, State, Thread};
use crate::arch::cpu::{self, FpuState};
use crate::arch::switch::prepare_user;
use crate::arch::traps::TrapFrame;
use crate::mem::kstack::KernelStack;
use crate::mem::space::activate_root;
use crate::mem::user::WritablePages;
use abi::Errno;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use doors::At;
use kernel::job::Job;
use kernel::joins::ExitValues;
use kernel::linux::LinuxThread;

impl Sched {
    /// fork by the running thread, whose user registers are `frame`: a new
    /// process whose one thread resumes from `frame` with 0 as the result,
    /// with the thread's FPU state and thread-local storage. Returns the
    /// child's pid. Errors (nothing created): EAGAIN (process limits),
    /// ENOMEM, EINTR (the process is ending: the thread does not return).
    pub fn fork_current(&mut self, frame: &TrapFrame) -> Result<u32, Errno> {
        let parent = self.current_pid();
        let forker = self.current;
        self.may_spawn(parent)?;
        let private = self.objects().doors.idle_areas(parent);
        let p = self.procs.get(&parent).ok_or(Errno::ESRCH)?;
        if p.death.is_some() {
            return Err(Errno::EINTR);
        }
        let space = p.space.as_ref().ok_or(Errno::ESRCH)?;
        let space = space.fork(&private).map_err(|_| Errno::ENOMEM)?;
        let (name, pgid, sid, cred, limits, handoff) =
            (p.name.clone(), p.pgid, p.sid, p.cred, p.limits, p.handoff);
        let linux_process = p.linux.as_deref().map(|l| Box::new(l.forked()));
        let t = self.threads.get(forker).ok_or(Errno::ESRCH)?;
        let fs_base = t.fs_base;
        // A Linux thread's copy keeps its signal mask and alternate stack,
        // not its pending signals nor its clear-child-tid word (fork sets
        // none).
        let linux_thread = t.linux.as_deref().map(|l| {
            Box::new(LinuxThread {
                clear_child_tid: 0,
                signals: l.signals.forked(),
            })
        });
        let kstack = KernelStack::new().ok_or(Errno::ENOMEM)?;
        let resumed = TrapFrame { rax: 0, ..*frame };
        // SAFETY: a fresh, mapped kernel stack.
        let rsp = unsafe { prepare_user(kstack.top(), &resumed) };
        let mut fpu = Box::new(FpuState::new());
        cpu::save_fpu(&mut fpu);
        let child = self.next_pid()?;
        let thread = Thread {
            tid: 0,
            pid: child,
            state: State::Ready,
            kstack,
            rsp,
            fpu,
            resume: Resume::INTERRUPTED,
            fs_base,
            to_user: false,
            detached: linux_thread.is_some(),
            joining: None,
            handoff,
            stopped: false,
            holds: None,
            root: Some(space.root()),
            door_key: None,
            door_pages: WritablePages::NONE,
            caps_at: At::NOWHERE,
            cred,
            linux: linux_thread,
            cpu_ticks: 0,
        };
        let thread = Box::new(thread);
        let handle = thread.door_handle();
        let tid = self.threads.insert(thread).ok_or(Errno::EAGAIN)?;
        let key = match self.objects().fork(parent, forker, child, tid, handle) {
            Ok(key) => key,
            Err(e) => {
                self.threads.remove(tid);
                return Err(e);
            }
        };
        self.pids.take(child);
        let t = self.threads.get_mut(tid).expect("inserted just now");
        (t.tid, t.door_key) = (tid, Some(key));
        if !handoff {
            HANDOFF_OFF.fetch_add(1, Ordering::Relaxed);
        }
        let process = Process {
            pid: child,
            parent,
            pgid,
            sid,
            execed: false,
            name,
            cred,
            space: Some(space),
            threads: vec![tid],
            exited_threads: ExitValues::new(),
            limits,
            handoff,
            death: None,
            dying: false,
            job: Job::RUNNING,
            linux: linux_process,
            cpu: CpuTicks::default(),
        };
        self.procs.insert(child, process);
        self.ready.push(tid);
        crate::trace::spawn(
            child,
            parent,
            &self
                .procs
                .get(&child)
                .map_or(String::new(), |p| p.name.clone()),
        );
        crate::trace::thread_create(tid, child);
        Ok(child)
    }

    /// Replaces the running process's image with `image` (named `name`),
    /// the running thread going on in it from `frame`'s new contents: the
    /// door logic and the capability layer do what exec does (doors
    /// revoked, every thread's door state ended, close-on-exec descriptors
    /// closed), the other threads end, and the thread gets a fresh door
    /// record, FPU state and no thread-local storage. EINTR (nothing
    /// changes) if the process is ending already.
    fn replace_image(
        &mut self,
        name: &str,
        image: Image,
        frame: &mut TrapFrame,
    ) -> Result<(), Errno> {
        let (pid, tid) = (self.current_pid(), self.current);
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        if p.death.is_some() {
            return Err(Errno::EINTR);
        }
        let key = self.objects().exec(pid, tid)?;
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        let others: Vec<u32> = p.threads.iter().copied().filter(|&t| t != tid).collect();
        p.threads.retain(|&t| t == tid);
        p.exited_threads.clear(&mut self.threads);
        for other in others {
            self.destroy_thread(other);
        }
        self.handle_events();
        let root = image.space.root();
        let t = self.current_thread();
        t.door_key = Some(key);
        t.root = Some(root);
        t.fs_base = 0;
        self.set_personality(pid, tid, image.linux_end);
        let p = self.procs.get_mut(&pid).ok_or(Errno::ESRCH)?;
        p.name = String::from(name);
        p.execed = true;
        // SAFETY: the new space is alive (the process holds it from here).
        unsafe { activate_root(root) };
        drop(p.space.replace(image.space));
        cpu::set_fs_base(0);
        cpu::load_fpu(&FpuState::new());
        *frame = image.frame;
        Ok(())
    }
}

/// `execve`: replaces the running process's image with the program at
/// `path` (relative to the current directory), started with `args`
/// (argument 0 first) and `env`; on success the thread leaves the system
/// call into the new program through `frame`. Errors (the caller is
/// unchanged): the errors of paths, EACCES (not executable), ENOEXEC,
/// ENOMEM.
pub fn exec(
    path: &[u8],
    args: &[&[u8]],
    env: &[&[u8]],
    frame: &mut TrapFrame,
) -> Result<(), Errno> {
    let mut g = SCHED.lock();
    let pid = g.current_pid();
    let ids = g.current_cred();
    let program = g
        .objects()
        .program_at(pid, ids.into(), path, MAX_PROGRAM_FILE)?;
    let memory_limit = g.current_space().map_limit();
    drop(g);
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let name = core::str::from_utf8(name).unwrap_or("?");
    let image = loader::load(name, loader::bytes(&program), args, env, memory_limit, ids)?;
    SCHED.lock().replace_image(name, image, frame)
}
