//! The fattach name space: paths naming doors.
//!
//! Paths are absolute byte strings (`/` first, at most `path_max` bytes);
//! there are no directories, a path simply is or is not attached. An
//! attachment is a counted reference to its door, so the door lives while it
//! is attached (and it counts toward unreferenced notices).
//!
//! Permission rule (EPERM): a process may fattach a door only if its euid is
//! 0 or the euid of the door's creating process, and may fdetach a path only
//! if its euid is 0 or the euid of the process that attached it.

use crate::system::Attachment;
use crate::{DoorSystem, Errno, Fd, Pid};

impl DoorSystem {
    /// ENAMETOOLONG, ENOENT (empty), EINVAL (relative).
    fn check_path(&self, path: &[u8]) -> Result<(), Errno> {
        if path.len() > self.cfg.path_max {
            return Err(Errno::ENAMETOOLONG);
        }
        match path.first() {
            None => Err(Errno::ENOENT),
            Some(b'/') => Ok(()),
            Some(_) => Err(Errno::EINVAL),
        }
    }

    fn euid(&self, pid: Pid) -> Result<u32, Errno> {
        self.procs
            .get(&pid)
            .map(|p| p.cred.euid)
            .ok_or(Errno::ESRCH)
    }

    /// fattach by `pid`: names `fd`'s door by `path`. Errors, in order:
    /// EBADF, ENAMETOOLONG, ENOENT, EINVAL, EPERM, EBUSY (already attached).
    pub fn fattach(&mut self, pid: Pid, fd: Fd, path: &[u8]) -> Result<(), Errno> {
        let door = self.lookup(pid, fd)?;
        self.check_path(path)?;
        let euid = self.euid(pid)?;
        if euid != 0 && euid != self.door(door).creator_euid {
            return Err(Errno::EPERM);
        }
        if self.names.contains_key(path) {
            return Err(Errno::EBUSY);
        }
        self.names.insert(
            path.into(),
            Attachment {
                door,
                owner_euid: euid,
            },
        );
        self.door_mut(door).refs += 1;
        Ok(())
    }

    /// fdetach by `pid`. Errors: ENAMETOOLONG, ENOENT, EINVAL (relative, or
    /// nothing attached), EPERM. Descriptors opened earlier keep working.
    pub fn fdetach(&mut self, pid: Pid, path: &[u8]) -> Result<(), Errno> {
        self.check_path(path)?;
        let euid = self.euid(pid)?;
        let a = self.names.get(path).ok_or(Errno::EINVAL)?;
        if euid != 0 && euid != a.owner_euid {
            return Err(Errno::EPERM);
        }
        let a = self.names.remove(path).expect("attachment vanished");
        self.drop_ref(a.door);
        Ok(())
    }

    /// open by `pid`: a descriptor for the door attached at `path`. Errors:
    /// ENAMETOOLONG, ENOENT (empty or not attached), EINVAL (relative),
    /// EMFILE.
    pub fn open(&mut self, pid: Pid, path: &[u8]) -> Result<Fd, Errno> {
        self.check_path(path)?;
        let door = self.names.get(path).ok_or(Errno::ENOENT)?.door;
        let p = self.procs.get(&pid).ok_or(Errno::ESRCH)?;
        if p.table.free_slots() == 0 {
            return Err(Errno::EMFILE);
        }
        Ok(self.install(pid, door))
    }
}
