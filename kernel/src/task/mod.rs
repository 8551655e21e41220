//! Processes, threads and the scheduler.
//!
//! One CPU, and kernel code runs with interrupts off, so all of this state
//! sits behind one lock ([`SCHED`]) that is never held across a context
//! switch. Scheduling is round-robin over a FIFO of ready threads, with
//! preemption from the timer. Switching is built on one primitive,
//! `switch_locked(next)`, which runs a chosen thread directly; picking from
//! the run queue is a separate step, so a door call can hand the CPU from
//! caller to server and back without a trip through the run queue.

mod fork;
mod ipc;
mod job;
mod join;
mod linux;
mod loader;
mod objects;
mod process;
mod report;
mod resume;
mod signals;
mod switch;

pub use fork::exec;
pub use ipc::{DoorTarget, FastDoorEnv, ProcessMemory, copy_arguments, deliver_results};
pub use join::{detach_thread, exit_thread, join_thread};
pub use linux::{exit_linux_thread, futex_wait, sleep_until};
pub use loader::{spawn, user_frame};
pub use process::{check_exiting, exit_process, pause, wait4};
pub use report::{on_kernel_exception, on_user_exception};
pub use resume::{Entry, Resume};
pub use signals::{Interrupted, deliver_signals, sigreturn, wait_signal};
use switch::switch_locked;
pub use switch::{
    Leave, after_switch, after_switch_to_user, block, door_leave, door_park, user_thread_entry,
    yield_now,
};

use crate::arch::cpu::{self, FpuState};
use crate::arch::gdt;
use crate::arch::switch::{prepare_kernel, prepare_user, switch};
use crate::arch::traps::TrapFrame;
use crate::mem::kstack::KernelStack;
use crate::mem::space::AddressSpace;
use crate::mem::user::WritablePages;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use x86_64::structures::paging::PhysFrame;

use crate::mem::pages::FrameStore;
use abi::{Errno, MAX_PROCESSES, MAX_THREADS, limit};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use doors::{At, Cred, Registry, ThreadKey};
use kernel::cap::Capability;
use kernel::clock::Clock;
use kernel::job::Job;
use kernel::joins::ExitValues;
use kernel::linux::futex::Futexes;
use kernel::linux::{LinuxProcess, LinuxThread};
use kernel::pids::Pids;
use kernel::pipe::{End, PipeId};
use kernel::runq::{ReadyQueue, SleepQueue};
use kernel::signal::Death;
use kernel::slots::Slots;

/// The objects behind descriptors, with file data and pipe buffers in
/// physical frames.
pub type Objects = kernel::cap::Objects<FrameStore>;
use spin::Mutex;

/// What a blocked thread waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    /// Another thread of its process to exit.
    Join(u32),
    /// A child process to exit.
    Child,
    /// A signal to handle (`pause`, `rt_sigsuspend`), or its process's end.
    Pause,
    /// A number of timer ticks.
    Sleep,
    /// The end of its door call.
    DoorCall,
    /// An invocation, as an idle thread of a door server pool.
    DoorPark,
    /// Data (`End::Read`) or room (`End::Write`) in a pipe, or its other
    /// side gone.
    Pipe(PipeId, End),
    /// A futex wake (a Linux thread), or its timeout.
    Futex,
    /// A signal of this set (`rt_sigtimedwait`), or its timeout.
    Signal(u64),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Ready,
    Running,
    Blocked(Wait),
    /// Ready, but its process is stopped: it was set aside when its turn
    /// came (or it stopped itself), and goes back on the run queue when
    /// its process continues (`task::job`).
    Stopped,
    Dead,
}

/// A thread's record. Records are boxed, so each stays put while the table
/// grows: its address is what the door logic calls the thread
/// ([`Thread::door_handle`]).
pub struct Thread {
    pub tid: u32,
    pub pid: u32,
    state: State,
    kstack: KernelStack,
    /// Saved kernel stack pointer while not running.
    rsp: u64,
    fpu: Box<FpuState>,
    /// How its pending door_call or door_return ends, as decided by the
    /// thread that woke it ([`Resume::INTERRUPTED`] until then).
    resume: Resume,
    /// Its FS base (the runtime's thread control block).
    fs_base: u64,
    /// It is parked in a door operation: it resumes in user mode from its
    /// trap frame (with `resume` applied), not from a kernel context.
    to_user: bool,
    /// It leaves no exit value behind (nobody will join it).
    detached: bool,
    /// The tid it waits to join, held in the thread table until it looks
    /// again (or is destroyed): see `kernel::joins`.
    joining: Option<u32>,
    /// Its process lets door calls hand the CPU straight to the other side
    /// (a copy of [`Process::handoff`], read on the hot path).
    handoff: bool,
    /// Its process is stopped (a copy of [`Process::job`]'s state, read
    /// where the next thread to run is chosen).
    stopped: bool,
    /// Its record in the door logic (`None` for the idle thread).
    door_key: Option<ThreadKey>,
    /// The pages of its last fast door_call's `door_arg_t`, rbuf and arguments.
    door_pages: WritablePages,
    /// Where its process's descriptor table was last found, for the door
    /// fast path's lookup ([`Registry::get_hinted`]).
    caps_at: At,
    /// Its process's credentials (a copy of [`Process::cred`], kept in step
    /// by [`Sched::set_current_cred`], read on every door call).
    cred: Cred,
    /// A reference it holds while blocked on an object (a pipe end), so
    /// the object outlives its descriptors; released when the call ends,
    /// or when the thread is destroyed.
    holds: Option<Capability>,
    /// Its process's root page table (`None` for the idle thread). The
    /// space outlives every thread that can still run: it goes when the
    /// last thread has exited.
    root: Option<PhysFrame>,
    /// What a thread of a Linux program has besides (`None`: native).
    linux: Option<Box<LinuxThread>>,
    /// Timer ticks that came while it ran: its CPU time, sampled.
    cpu_ticks: u64,
}

/// A process's CPU time in timer ticks, sampled: each tick is charged to
/// the thread it finds running (kernel code runs with interrupts off, so
/// a tick due then is charged as the thread goes back to user mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Its threads', all of them.
    pub own: u64,
    /// Its reaped children's, with their own reaped children's.
    pub children: u64,
}

pub struct Process {
    pub pid: u32,
    /// Its parent (init, pid 1, once the parent has exited; 0 for init).
    pub parent: u32,
    /// Its process group: its own pid when spawned (each program init or
    /// a test starts is a group of its own, as a shell's job), its
    /// parent's when forked; `setpgid` and `setsid` change it
    /// (`kernel::session`).
    pub pgid: u32,
    /// Its session: its parent's (init's is 1, its own pid), or its own
    /// pid once it has called `setsid` (`kernel::session`).
    pub sid: u32,
    /// It has run a program since its fork (exec, or a spawn): its parent
    /// may no longer change its group (`setpgid`'s EACCES).
    pub execed: bool,
    pub name: String,
    /// Its user and group ids.
    pub cred: Cred,
    /// `None` once the process has exited (a zombie until waited for).
    pub space: Option<AddressSpace>,
    /// Live threads.
    threads: Vec<u32>,
    /// Exit values of threads not yet joined (their tids held).
    exited_threads: ExitValues,
    /// What it may take of what all processes share (its memory limit is
    /// its address space's).
    pub limits: Limits,
    /// Its door calls hand the CPU straight to the other side (the
    /// `door_handoff` benchmark knob).
    handoff: bool,
    /// How it ended, once it started ending (a zombie, `space` gone,
    /// once its last thread has, until its parent waits for it).
    pub death: Option<Death>,
    /// Killed (or exiting) while some of its threads still run: they must
    /// not return to user mode. Counted in [`RETURN_CHECKS`].
    dying: bool,
    /// Stopped or running, and what its parent's wait has yet to learn of
    /// it (`task::job`). Counted in [`STOPPED`], [`HANDOFF_OFF`] and
    /// [`RETURN_CHECKS`] while stopped.
    job: Job,
    /// What a Linux program has besides (`None`: a native program).
    pub linux: Option<Box<LinuxProcess>>,
    pub cpu: CpuTicks,
}

/// A process's limits on threads and children (see `abi::limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub threads: u64,
    pub children: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        threads: limit::DEFAULT_THREADS,
        children: limit::DEFAULT_CHILDREN,
    };
}

/// Where the running thread's record is (its box, which stays put while
/// the thread table grows).
#[derive(Clone, Copy)]
struct Running(Option<NonNull<Thread>>);

// SAFETY: the pointer is only followed under the `SCHED` lock, as the
// table that owns the record is.
unsafe impl Send for Running {}

pub struct Sched {
    /// Threads by tid (a tid says where its record is: no hashing).
    threads: Slots<Box<Thread>>,
    procs: Registry<Process>,
    ready: ReadyQueue,
    sleepers: SleepQueue,
    current: u32,
    /// The running thread's record, set with `current`: system calls
    /// reach it without a lookup.
    running: Running,
    /// The running thread's process (as `running` says: kept apart, as
    /// most system calls read it).
    current_pid: u32,
    idle: u32,
    /// Threads that exited (still in `threads`, state `Dead`): the switch
    /// away from one still saves into its record and runs on its stack, so
    /// the next thread to run frees it.
    dead: Vec<u32>,
    /// Pids handed out (wrapping, skipping those in use).
    pids: Pids,
    ticks: u64,
    /// The objects behind descriptors: the door logic, every process's
    /// descriptor table, the file system and the pipes (set up at boot by
    /// `init_objects`).
    objects: Option<Objects>,
    /// Pending alarms: the tick at which SIGALRM ends each process.
    alarms: BTreeMap<u32, u64>,
    /// Linux threads waiting on futexes.
    futexes: Futexes,
    /// Monotonic and real time.
    clock: Clock,
}

pub static SCHED: Mutex<Sched> = Mutex::new(Sched {
    threads: Slots::new(),
    procs: Registry::new(),
    ready: ReadyQueue::new(),
    sleepers: SleepQueue::new(),
    current: 0,
    running: Running(None),
    current_pid: 0,
    idle: 0,
    dead: Vec::new(),
    pids: Pids::new(),
    ticks: 0,
    objects: None,
    alarms: BTreeMap::new(),
    futexes: Futexes::new(),
    clock: Clock::new(kernel::clock::NANOS / crate::arch::timer::HZ as u64),
});

/// The memory limit of the first process (`abi::limit::MEMORY`), set at
/// boot to a share of the free memory; others inherit their parent's.
pub static DEFAULT_MEMORY: AtomicU64 = AtomicU64::new(0);

/// Kernel-entry and first-user-instruction timestamps (boot benchmark).
pub static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
pub static FIRST_USER_TSC: AtomicU64 = AtomicU64::new(0);
/// Direct caller/server switches (see `kstat::DOOR_HANDOFFS`).
pub static HANDOFFS: AtomicU64 = AtomicU64::new(0);
/// Processes whose threads look before they return to user mode: those
/// with `dying` set (they end) and stopped ones (they wait), so the common
/// return skips the look while there are none.
static RETURN_CHECKS: AtomicUsize = AtomicUsize::new(0);
/// Processes whose threads a door switch may not run at once: those that
/// turned the door handoff off, and stopped ones (so door switches skip
/// the check while there are none).
static HANDOFF_OFF: AtomicUsize = AtomicUsize::new(0);
/// Stopped processes (so the choice of the next thread skips the check
/// while there are none).
static STOPPED: AtomicUsize = AtomicUsize::new(0);
/// Whether `Sched::dead` holds threads to free.
static DEAD_PENDING: AtomicBool = AtomicBool::new(false);

impl Sched {
    pub fn current_tid(&self) -> u32 {
        self.current
    }

    /// Makes thread `tid` the running one: remembers what system calls
    /// read of it; its record.
    #[inline]
    fn make_current(&mut self, tid: u32) -> Option<&mut Thread> {
        let record = NonNull::from(&mut **self.threads.get_mut(tid)?);
        // SAFETY: the record of a live thread, in the table `self` owns.
        Some(unsafe { self.make_current_at(record) })
    }

    /// Makes the thread whose record is at `record` the running one (the
    /// door handoff, which has it from a [`DoorTarget`]); its record.
    ///
    /// # Safety
    /// `record` is the boxed record of a live thread in `self.threads`.
    #[inline(always)]
    unsafe fn make_current_at(&mut self, record: NonNull<Thread>) -> &mut Thread {
        // SAFETY: as the caller promises; `&mut self` keeps the table, and
        // so the record, from anyone else while the reference lives.
        let t = unsafe { &mut *record.as_ptr() };
        self.current = t.tid;
        self.running = Running(Some(record));
        self.current_pid = t.pid;
        t
    }

    /// The running thread's record (`None` before the first switch), as
    /// `running` points to it.
    #[inline(always)]
    fn running(&self) -> Option<&Thread> {
        // SAFETY: `running` points to the boxed record of the running
        // thread; a record is freed only once its thread no longer runs
        // (`destroy_thread`, and the switch away from a dead one), and the
        // reference borrows the table that owns it.
        self.running.0.map(|t| unsafe { t.as_ref() })
    }

    /// The running thread's record.
    #[inline]
    fn current_thread(&mut self) -> &mut Thread {
        let tid = self.current;
        self.threads
            .get_mut(tid)
            .expect("the running thread has a record")
    }

    pub fn current_pid(&self) -> u32 {
        self.current_pid
    }

    pub fn process(&self, pid: u32) -> Option<&Process> {
        self.procs.get(&pid)
    }

    pub fn process_mut(&mut self, pid: u32) -> Option<&mut Process> {
        self.procs.get_mut(&pid)
    }

    /// The running process's credentials.
    #[inline]
    pub fn current_cred(&self) -> Cred {
        self.threads
            .get(self.current)
            .map_or(Cred::default(), |t| t.cred)
    }

    /// Sets the running process's credentials (in the process and in the
    /// copies its threads keep).
    pub fn set_current_cred(&mut self, cred: Cred) {
        let pid = self.current_pid();
        if let Some(p) = self.procs.get_mut(&pid) {
            p.cred = cred;
        }
        for t in self.threads.values_mut().filter(|t| t.pid == pid) {
            t.cred = cred;
        }
    }

    /// The running process's address space.
    pub fn current_space(&mut self) -> &mut AddressSpace {
        let pid = self.current_pid();
        self.procs
            .get_mut(&pid)
            .and_then(|p| p.space.as_mut())
            .expect("a running user thread has a space")
    }

    /// Sets the running thread's FS base (and loads it now).
    pub fn set_fs_base(&mut self, base: u64) {
        let cur = self.current;
        if let Some(t) = self.threads.get_mut(cur) {
            t.fs_base = base;
        }
        cpu::set_fs_base(base);
    }

    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    pub fn counts(&self) -> (usize, usize) {
        (self.procs.len(), self.threads.len())
    }

    /// Door calls waiting for a server thread.
    pub fn door_waiting(&self) -> usize {
        self.objects.as_ref().map_or(0, |o| o.doors.stats().waiting)
    }

    /// Whether a door switch from the running thread to `target` goes
    /// straight there: unless the process of either turned the handoff
    /// off, or `target`'s is stopped (then it goes through the run queue,
    /// where it is set aside until its process continues).
    #[inline(always)]
    fn direct_switch_to(&self, target: u32) -> bool {
        if HANDOFF_OFF.load(Ordering::Relaxed) == 0 {
            return true;
        }
        let on = |tid: u32| {
            self.threads
                .get(tid)
                .is_none_or(|t| t.handoff && !t.stopped)
        };
        on(self.current) && on(target)
    }

    /// Turns the door handoff of process `pid` on or off.
    pub fn set_handoff(&mut self, pid: u32, on: bool) {
        let Some(p) = self.procs.get_mut(&pid) else {
            return;
        };
        if core::mem::replace(&mut p.handoff, on) != on {
            match on {
                true => HANDOFF_OFF.fetch_sub(1, Ordering::Relaxed),
                false => HANDOFF_OFF.fetch_add(1, Ordering::Relaxed),
            };
        }
        for t in self.threads.values_mut().filter(|t| t.pid == pid) {
            t.handoff = on;
        }
    }

    /// Unmaps the `mem_map` area of process `pid` at `addr` of `len` bytes;
    /// idle door server threads whose argument area was there leave their
    /// pools. False if there is no such area.
    pub fn unmap(&mut self, pid: u32, addr: u64, len: u64) -> bool {
        let Some(space) = self.procs.get_mut(&pid).and_then(|p| p.space.as_mut()) else {
            return false;
        };
        if !space.unmap_area(addr, len) {
            return false;
        }
        self.objects().doors.unmapped(pid, addr, len);
        self.handle_events();
        true
    }

    /// Makes a blocked thread ready (no effect on any other state).
    pub fn wake(&mut self, tid: u32) {
        if let Some(t) = self.threads.get_mut(tid)
            && matches!(t.state, State::Blocked(_))
        {
            t.state = State::Ready;
            self.ready.push(tid);
        }
    }

    /// The next thread to run: the first ready one, else the idle thread.
    fn pick_next(&mut self) -> u32 {
        self.pop_ready().unwrap_or(self.idle)
    }

    /// Takes the first thread off the run queue that may run: a thread of
    /// a stopped process is set aside instead ([`State::Stopped`]), so no
    /// thread of a stopped process runs (in user mode or in the kernel)
    /// until it continues.
    #[inline]
    fn pop_ready(&mut self) -> Option<u32> {
        loop {
            let tid = self.ready.pop()?;
            if STOPPED.load(Ordering::Relaxed) == 0 {
                return Some(tid);
            }
            match self.threads.get_mut(tid) {
                Some(t) if t.stopped => t.state = State::Stopped,
                _ => return Some(tid),
            }
        }
    }

    /// Adds a thread that enters user mode with `frame`.
    pub fn add_user_thread(&mut self, pid: u32, frame: &TrapFrame) -> Result<u32, Errno> {
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if (p.threads.len() + p.exited_threads.len()) as u64 >= p.limits.threads {
            return Err(Errno::EAGAIN);
        }
        let (handoff, cred, stopped) = (p.handoff, p.cred, p.job.is_stopped());
        self.may_add_thread()?;
        let kstack = KernelStack::new().ok_or(Errno::ENOMEM)?;
        // SAFETY: a fresh, mapped kernel stack.
        let rsp = unsafe { prepare_user(kstack.top(), frame) };
        let root = self
            .procs
            .get(&pid)
            .and_then(|p| p.space.as_ref())
            .map(AddressSpace::root);
        let thread = Thread {
            tid: 0,
            pid,
            state: State::Ready,
            kstack,
            rsp,
            fpu: Box::new(FpuState::new()),
            resume: Resume::INTERRUPTED,
            fs_base: 0,
            to_user: false,
            detached: false,
            joining: None,
            handoff,
            stopped,
            holds: None,
            root,
            door_key: None,
            door_pages: WritablePages::NONE,
            caps_at: At::NOWHERE,
            cred,
            linux: None,
            cpu_ticks: 0,
        };
        let thread = Box::new(thread);
        let handle = thread.door_handle();
        let tid = self.threads.insert(thread).ok_or(Errno::EAGAIN)?;
        let door_key = match self.objects().doors.create_thread(pid, tid, handle) {
            Ok(key) => key,
            Err(e) => {
                self.threads.remove(tid);
                return Err(e);
            }
        };
        let t = self.threads.get_mut(tid).expect("inserted just now");
        (t.tid, t.door_key) = (tid, Some(door_key));
        if let Some(p) = self.procs.get_mut(&pid) {
            p.threads.push(tid);
        }
        self.ready.push(tid);
        crate::trace::thread_create(tid, pid);
        Ok(tid)
    }

    /// The memory limit a new child of `parent` starts with: its parent's.
    pub fn child_memory_limit(&self, parent: u32) -> u64 {
        let space = self.procs.get(&parent).and_then(|p| p.space.as_ref());
        space.map_or(
            DEFAULT_MEMORY.load(Ordering::Relaxed),
            AddressSpace::map_limit,
        )
    }

    /// Whether another thread may exist: EAGAIN when `MAX_THREADS` do,
    /// counting exited ones nobody joined.
    pub fn may_add_thread(&self) -> Result<(), Errno> {
        let held: usize = self
            .procs
            .values()
            .map(|p| p.threads.len() + p.exited_threads.len())
            .sum();
        if held >= MAX_THREADS {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }

    /// Whether `parent` may start another process (with one thread):
    /// EAGAIN when it has its limit of children (live or not yet waited
    /// for), or the system its limit of processes or of threads.
    pub fn may_spawn(&self, parent: u32) -> Result<(), Errno> {
        if self.procs.len() >= MAX_PROCESSES {
            return Err(Errno::EAGAIN);
        }
        self.may_add_thread()?;
        let Some(p) = self.procs.get(&parent) else {
            return Ok(());
        };
        let children = self.procs.values().filter(|c| c.parent == parent).count();
        if children as u64 >= p.limits.children {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }

    /// The pid of the next process: EAGAIN if every pid is a process's
    /// (live or a zombie), a process group's or a session's (never, with at most
    /// `MAX_PROCESSES` processes).
    fn next_pid(&self) -> Result<u32, Errno> {
        let procs = &self.procs;
        let in_use =
            |pid| procs.contains_key(&pid) || procs.values().any(|p| p.pgid == pid || p.sid == pid);
        self.pids.next(in_use).ok_or(Errno::EAGAIN)
    }

    /// Registers a new process (with no threads yet) holding exactly the
    /// descriptors `fds` of its parent (as its descriptors 0, 1, ...), with
    /// its parent's credentials and limits; returns its pid.
    pub fn add_process(
        &mut self,
        parent: u32,
        name: &str,
        space: AddressSpace,
        fds: &[i32],
    ) -> Result<u32, Errno> {
        self.may_spawn(parent)?;
        let pid = self.next_pid()?;
        let (cred, limits, sid) = self
            .procs
            .get(&parent)
            .map_or((Cred::default(), Limits::DEFAULT, pid), |p| {
                (p.cred, p.limits, p.sid)
            });
        let objects = self.objects();
        match objects.caps.table(parent) {
            None => objects.create_process(pid, limit::DEFAULT_DESCRIPTORS as usize)?,
            Some(t) => {
                let capacity = t.capacity();
                objects.spawn(parent, pid, fds, capacity)?
            }
        }
        self.pids.take(pid);
        let p = Process {
            pid,
            parent,
            pgid: pid,
            sid,
            execed: true,
            name: String::from(name),
            cred,
            space: Some(space),
            threads: Vec::new(),
            exited_threads: ExitValues::new(),
            limits,
            handoff: true,
            death: None,
            dying: false,
            job: Job::RUNNING,
            linux: None,
            cpu: CpuTicks::default(),
        };
        self.procs.insert(pid, p);
        Ok(pid)
    }

    /// Takes a thread that is not running off every queue and frees it.
    fn destroy_thread(&mut self, tid: u32) {
        assert_ne!(tid, self.current, "the running thread destroyed");
        self.ready.remove(tid);
        self.sleepers.remove(tid);
        self.futexes.remove(tid);
        let objects = self.objects();
        objects.doors.exit_thread(&mut objects.caps, tid);
        let held = self.threads.get_mut(tid).and_then(|t| t.holds.take());
        if let Some(cap) = held {
            self.objects().release(cap);
        }
        let joining = self.threads.get_mut(tid).and_then(|t| t.joining.take());
        if let Some(target) = joining {
            self.threads.release(target);
        }
        self.handle_events();
        // Not running, so its stack and record can go now.
        drop(self.threads.remove(tid));
    }
}

/// Sleeps for `ticks` timer ticks (a signal does not cut it short).
pub fn sleep(ticks: u64) {
    let mut g = SCHED.lock();
    let when = g.ticks + ticks;
    let cur = g.current;
    while g.ticks < when {
        g.sleepers.remove(cur);
        g.sleepers.insert(when, cur);
        block(g, Wait::Sleep);
        g = SCHED.lock();
    }
}

/// Timer interrupt: wake sleepers; preempt a user thread.
pub fn on_timer_tick(frame: &TrapFrame) {
    let mut g = SCHED.lock();
    g.ticks += 1;
    g.charge_tick();
    g.clock.tick(cpu::rdtsc());
    let now = g.ticks;
    let real = g.realtime_ns();
    g.set_fs_time(real);
    while let Some(tid) = g.sleepers.pop_expired(now) {
        g.wake(tid);
    }
    if !g.alarms.is_empty() {
        g.ring_alarms(now);
    }
    drop(g);
    if frame.is_user_mode() {
        yield_now();
        check_exiting();
    }
}

/// The idle thread: runs when nothing else can, halting until an interrupt.
/// If every thread is blocked with no timer pending, the system can never
/// make progress again: that is a deadlock of the programs (not a kernel
/// failure), reported with what each thread waits for and its own exit code.
extern "C" fn idle_loop() -> ! {
    loop {
        let mut g = SCHED.lock();
        if let Some(next) = g.pop_ready() {
            switch_locked(g, next);
            continue;
        }
        if g.procs.is_empty() {
            drop(g);
            panic!("no processes left (init exited without shutting down)");
        }
        // Sleepers (futex waits with a timeout among them) and alarms.
        if g.sleepers.is_empty() && g.alarms.is_empty() {
            drop(g);
            crate::trace::dump();
            report::report_deadlock(&SCHED.lock());
            crate::arch::qemu_exit(abi::exit_code::DEADLOCK);
        }
        drop(g);
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
    }
}

/// Creates the idle thread and becomes it: the boot stack is abandoned and
/// the scheduler starts running user threads.
pub fn start() -> ! {
    let kstack = KernelStack::new().expect("memory for the idle stack");
    // SAFETY: a fresh, mapped kernel stack.
    let rsp = unsafe { prepare_kernel(kstack.top(), idle_loop) };
    let mut g = SCHED.lock();
    let thread = Thread {
        tid: 0,
        pid: 0,
        state: State::Running,
        kstack,
        rsp,
        fpu: Box::new(FpuState::new()),
        resume: Resume::INTERRUPTED,
        fs_base: 0,
        to_user: false,
        detached: false,
        joining: None,
        handoff: true,
        stopped: false,
        holds: None,
        root: None,
        door_key: None,
        door_pages: WritablePages::NONE,
        caps_at: At::NOWHERE,
        cred: Cred::default(),
        linux: None,
        cpu_ticks: 0,
    };
    let idle = g
        .threads
        .insert(Box::new(thread))
        .expect("room for the idle thread");
    g.threads.get_mut(idle).expect("the idle thread").tid = idle;
    g.idle = idle;
    g.make_current(idle);
    let top = g.threads.get(idle).expect("the idle thread").kstack.top();
    let idle_fpu = &raw const *g.threads.get(idle).expect("the idle thread").fpu;
    gdt::set_kernel_stack(top);
    drop(g);
    let mut boot_rsp = 0u64;
    let mut boot_fpu = FpuState::new();
    // SAFETY: switching from the boot stack (never resumed) to the idle
    // thread's prepared stack; the boot FPU area is only written.
    unsafe { switch(&raw mut boot_rsp, rsp, &raw mut boot_fpu, idle_fpu) };
    unreachable!("the boot context was resumed");
}
