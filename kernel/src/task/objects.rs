//! The objects behind descriptors inside the scheduler state: setting them
//! up at boot (the door logic, the file system with the boot archive under
//! `/bin`, the pipes), reaching them with the caller's address space, and
//! carrying out what they ask of the scheduler: the door logic's events,
//! and the pipe wakeups that reads, writes and closes cause. A thread that
//! blocks on a pipe holds a reference to its end while it waits.

use super::{Objects, Resume, Sched, State, Wait};
use crate::mem::PAGE_SIZE;
use crate::mem::pages::FrameStore;
use crate::mem::space::AddressSpace;
use abi::fs::{FS_MAX_NODES, FS_MAX_PAGES, MAX_OPEN_FILES, MAX_PIPES, Timespec};
use doors::{Config, DoorSystem, Event};
use kernel::bootfs::{Bootfs, NAME_MAX};
use kernel::cap::{CapSpace, Capability};
use kernel::clock::NANOS;
use kernel::fs::{Fs, Limits};
use kernel::pipe::{End, PipeId, Pipes, Wake};

/// Bytes of a server thread's stack area that must stay free below the
/// arguments, for the server procedure's own frames (one page: the 8 KiB
/// server stacks of door_server_create(3C)'s example still take small
/// arguments; a larger stack is the server's choice, as in illumos).
const STACK_RESERVE: u64 = 4096;

impl Sched {
    /// Sets up the door system, the file system (with every member of the
    /// boot archive under `/bin`) and the pipes, once, at boot. A member
    /// the file system refuses (two members `a` and `a/b`, more than its
    /// node limit) is a broken boot image: the kernel stops.
    pub fn init_objects(&mut self, archive: Bootfs<'static>) {
        let cfg = Config {
            stack_reserve: STACK_RESERVE,
            page_size: PAGE_SIZE,
            ..Config::default()
        };
        let limits = Limits {
            max_pages: FS_MAX_PAGES,
            max_nodes: FS_MAX_NODES,
            max_ofds: MAX_OPEN_FILES,
        };
        let mut fs = Fs::new(FrameStore, limits);
        let mut path = [0; NAME_MAX];
        for file in archive.files() {
            if let Err(e) = fs.add_boot_file(file.name.join(&mut path), file.data) {
                panic!("boot archive member {}: {e:?}", file.name);
            }
        }
        self.objects = Some(Objects {
            doors: DoorSystem::new(cfg),
            caps: CapSpace::new(fs, Pipes::new(FrameStore, MAX_PIPES)),
        });
    }

    /// The door logic, the capability layer and the objects behind it.
    #[inline]
    pub fn objects(&mut self) -> &mut Objects {
        self.objects.as_mut().expect("objects initialised at boot")
    }

    /// The objects and the running process's address space, at once (for
    /// transfers between them).
    pub fn file_env(&mut self) -> (&mut Objects, &AddressSpace) {
        let pid = self.current_pid();
        let space = self
            .procs
            .get(&pid)
            .and_then(|p| p.space.as_ref())
            .expect("a running user thread has a space");
        let objects = self.objects.as_mut().expect("objects initialised at boot");
        (objects, space)
    }

    /// Moves the file system's clock to real time `ns` (nanoseconds since
    /// 1970: the CMOS clock's reading at boot plus the time since).
    pub fn set_fs_time(&mut self, ns: u64) {
        if let Some(objects) = self.objects.as_mut() {
            objects.caps.fs.set_time(Timespec {
                tv_sec: (ns / NANOS) as i64,
                tv_nsec: (ns % NANOS) as i64,
            });
        }
    }

    /// Records (or clears) the reference the running thread holds while
    /// it blocks on an object.
    pub fn set_holds(&mut self, cap: Option<Capability>) {
        let tid = self.current;
        if let Some(t) = self.threads.get_mut(tid) {
            t.holds = cap;
        }
    }

    /// Makes ready the threads blocked on the side of pipe `id` that
    /// `wake` names.
    fn wake_pipe(&mut self, id: PipeId, wake: Wake) {
        let end = match wake {
            Wake::Readers => End::Read,
            Wake::Writers => End::Write,
            Wake::Nobody => return,
        };
        let Sched { threads, ready, .. } = self;
        for t in threads.values_mut() {
            if t.state == State::Blocked(Wait::Pipe(id, end)) {
                t.state = State::Ready;
                ready.push(t.tid);
            }
        }
    }

    /// Carries out the side effects the door logic queued and the pipe
    /// wakeups the capability layer recorded.
    #[inline]
    pub fn handle_events(&mut self) {
        if self
            .objects
            .as_ref()
            .is_some_and(|o| o.doors.has_events() || o.caps.has_wakes())
        {
            self.drain_events();
        }
    }

    fn drain_events(&mut self) {
        loop {
            let objects = self.objects();
            if let Some(event) = objects.doors.pop_event() {
                self.door_event(event);
            } else if let Some((id, wake)) = objects.caps.pop_wake() {
                self.wake_pipe(id, wake);
            } else {
                return;
            }
        }
    }

    fn door_event(&mut self, event: Event) {
        match event {
            Event::CallFailed { caller, errno } => {
                crate::trace::call_failed(caller, errno);
                self.set_resume(caller, Resume::Return(Err(errno)));
                self.wake(caller);
            }
            Event::ParkFailed { tid, errno } => {
                self.set_resume(tid, Resume::Return(Err(errno)));
                self.wake(tid);
            }
            Event::Dispatch(up) => {
                crate::trace::dispatch(&up);
                let start = self.deliver_upcall(&up);
                self.set_resume(up.server, start);
                self.wake(up.server);
            }
            // The notice is the thread's `door_cancelled()` state, which
            // the door logic keeps; nothing to interrupt here.
            Event::Cancel { .. } => {}
        }
    }
}
