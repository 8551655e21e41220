//! fork and exec in the capability layer: the whole descriptor table
//! copied into a child (every kind, the same descriptors, close-on-exec
//! flags kept; each copy is one more reference to its object, counted by
//! its kind, so an open-file description is shared as POSIX says), and the
//! close-on-exec descriptors closed by exec. The door logic is told first
//! (see `doors`' `fork` module for what fork and exec do to doors).

use super::Objects;
use abi::Errno;
use alloc::vec::Vec;
use doors::{Pid, ThreadKey, Tid};

impl Objects {
    /// fork by thread `forker` of `parent`: `child` gets a copy of the
    /// parent's table and one thread, `child_tid`, whose door-logic key is
    /// returned. Errors (nothing created): ESRCH (no process `parent`, or
    /// `forker` is not its thread), EINVAL (`forker` is parked or blocked
    /// in a door call; `child` or `child_tid` exists).
    pub fn fork(
        &mut self,
        parent: Pid,
        forker: Tid,
        child: Pid,
        child_tid: Tid,
    ) -> Result<ThreadKey, Errno> {
        let table = self.caps.table(parent).ok_or(Errno::ESRCH)?;
        if self.caps.tables.contains_key(&child) {
            return Err(Errno::EINVAL);
        }
        let table = table.clone();
        let key = self.doors.fork_process(parent, forker, child, child_tid)?;
        for (_, entry) in table.iter() {
            self.retain(entry.cap);
        }
        self.caps.tables.insert(child, table);
        Ok(key)
    }

    /// exec by thread `tid` of `pid`: the door logic first (the process's
    /// doors are revoked, its other threads leave; `tid` gets a fresh
    /// record, whose key is returned), then the close-on-exec descriptors
    /// are closed. Errors (nothing changes): ESRCH (no such process or
    /// thread), EINVAL (`tid` is parked or blocked in a door call).
    pub fn exec(&mut self, pid: Pid, tid: Tid) -> Result<ThreadKey, Errno> {
        let table = self.caps.table(pid).ok_or(Errno::ESRCH)?;
        let cloexec: Vec<_> = table
            .iter()
            .filter(|(_, entry)| entry.cloexec)
            .map(|(fd, _)| fd)
            .collect();
        let key = self.doors.exec_process(&mut self.caps, pid, tid)?;
        for fd in cloexec {
            self.close(pid, fd).expect("a descriptor listed just now");
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CapSpace, Capability, Entry};
    use super::*;
    use abi::{DOOR_IS_UNREF, DOOR_LOCAL, DOOR_REVOKED, DOOR_UNREF_MULTI};
    use doors::{Config, DoorSystem, Event, Fd};

    /// Process 1 with threads 10 and 11.
    fn objects() -> Objects {
        let mut o = Objects {
            doors: DoorSystem::new(Config::default()),
            caps: CapSpace::new(),
        };
        o.create_process(1, 16).unwrap();
        o.doors.create_thread(1, 10).unwrap();
        o.doors.create_thread(1, 11).unwrap();
        o
    }

    fn door(o: &mut Objects, attrs: u32) -> Fd {
        o.doors
            .door_create(&mut o.caps, 1, 0x1000, 0, attrs)
            .unwrap()
            .fd
    }

    fn entries(o: &Objects, pid: Pid) -> Vec<(Fd, Entry<Capability>)> {
        o.caps.table(pid).unwrap().iter().collect()
    }

    #[test]
    fn fork_copies_every_descriptor_with_its_number_and_flags() {
        let mut o = objects();
        let a = door(&mut o, 0);
        let b = door(&mut o, 0);
        o.close(1, a).unwrap();
        let reused = door(&mut o, 0);
        assert_ne!(reused, a, "a reused slot has a new generation");
        o.dup2(1, b, 9, true).unwrap();
        o.fork(1, 10, 2, 20).unwrap();
        assert_eq!(entries(&o, 2), entries(&o, 1));
        assert!(o.caps.table(2).unwrap().entry(9).unwrap().cloexec);
        assert_eq!(o.caps.table(2).unwrap().capacity(), 16);
        assert_eq!(o.caps.descriptors(), 6);
        let info = o.doors.door_info(&o.caps, 20, b).unwrap();
        assert_eq!(
            ({ info.di_target }, { info.di_attributes } & DOOR_LOCAL),
            (1, 0)
        );
    }

    #[test]
    fn the_childs_copies_are_references_its_exit_drops() {
        let mut o = objects();
        let d = door(&mut o, DOOR_UNREF_MULTI);
        let unref = |o: &Objects| {
            let attrs = o.doors.door_info(&o.caps, 10, d).unwrap().di_attributes;
            attrs & DOOR_IS_UNREF != 0
        };
        assert!(unref(&o));
        o.fork(1, 10, 2, 20).unwrap();
        assert!(!unref(&o), "the child's descriptor counts");
        o.doors
            .door_return(
                &mut NoMemory,
                &mut o.caps,
                11,
                doors::ReturnArgs {
                    stack: doors::StackArea {
                        base: 0x10000,
                        size: 0x10000,
                    },
                    ..doors::ReturnArgs::default()
                },
            )
            .unwrap();
        o.exit_process(2);
        assert!(unref(&o));
        assert!(
            matches!(o.doors.pop_event(), Some(Event::Dispatch(up)) if up.server == 11),
            "the child's exit closed its copy: a notice"
        );
        assert_eq!(o.caps.descriptors(), 1);
    }

    #[test]
    fn fork_errors_create_nothing() {
        let mut o = objects();
        door(&mut o, 0);
        assert_eq!(o.fork(3, 10, 2, 20), Err(Errno::ESRCH), "no parent");
        assert_eq!(o.fork(1, 99, 2, 20), Err(Errno::ESRCH), "no forker");
        assert_eq!(o.fork(1, 10, 1, 20), Err(Errno::EINVAL), "child exists");
        assert_eq!(o.fork(1, 10, 2, 11), Err(Errno::EINVAL), "tid exists");
        assert!(o.caps.table(2).is_none());
        assert_eq!(o.caps.descriptors(), 1);
        let info = o.doors.door_info(&o.caps, 10, 0).unwrap();
        assert_ne!(
            { info.di_attributes } & DOOR_IS_UNREF,
            0,
            "no reference added"
        );
    }

    #[test]
    fn exec_closes_the_close_on_exec_descriptors_and_revokes_the_doors() {
        let mut o = objects();
        let kept = door(&mut o, 0);
        let closed = door(&mut o, 0);
        o.caps.table_mut(1).unwrap().set_cloexec(closed, true);
        o.fork(1, 10, 2, 20).unwrap();
        o.exec(1, 11).unwrap();
        assert_eq!(
            entries(&o, 1).iter().map(|e| e.0).collect::<Vec<_>>(),
            [kept]
        );
        assert_eq!(
            o.doors.door_info(&o.caps, 10, kept),
            Err(Errno::ESRCH),
            "gone"
        );
        let info = o.doors.door_info(&o.caps, 11, kept).unwrap();
        assert_eq!({ info.di_target }, -1);
        assert_eq!({ info.di_attributes } & DOOR_REVOKED, DOOR_REVOKED);
        assert_eq!(entries(&o, 2).len(), 2, "the child's copies stay open");
        assert_eq!(o.exec(1, 10), Err(Errno::ESRCH));
        assert_eq!(o.exec(3, 11), Err(Errno::ESRCH));
    }

    /// Memory where every range is writable and nothing can be mapped.
    struct NoMemory;

    impl doors::UserMemory for NoMemory {
        fn accessible(&self, _: Pid, _: u64, _: u64, _: bool) -> bool {
            true
        }
        fn read_descs(&self, _: Pid, _: u64, _: u32) -> Result<Vec<abi::DoorDesc>, Errno> {
            Err(Errno::EFAULT)
        }
        fn epoch(&self) -> u64 {
            0
        }
        fn map_zeroed(&mut self, _: Pid, _: u64) -> Option<u64> {
            None
        }
    }
}
