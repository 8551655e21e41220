//! What the door logic asks of the kernel's capability layer: every
//! process's descriptor table, whose entries name objects of any kind
//! (doors are one kind among several). The door logic looks descriptors up
//! (door_call, door_info, ... need a door; descriptor passing takes any
//! kind), installs the descriptors a message delivers, and closes the
//! DOOR_RELEASE ones. It counts references to doors itself (a door's count
//! decides its unreferenced notices); references to objects of every other
//! kind are counted by the capability layer, through [`Descriptors::retain`]
//! and [`Descriptors::release`].

use crate::{Fd, Pid};

/// Names a door of a [`crate::DoorSystem`] (never reused: a key kept after
/// the door is freed names nothing).
pub type DoorId = crate::slab::Key;

/// The descriptor tables of all processes, as the door logic uses them.
pub trait Descriptors {
    /// A capability: names one object of some kind. One held in a table or
    /// in a message in flight is one counted reference to its object.
    type Cap: Copy;

    /// The door `cap` names, if it names a door.
    fn door(cap: Self::Cap) -> Option<DoorId>;
    /// The capability naming door `id`.
    fn for_door(id: DoorId) -> Self::Cap;
    /// What descriptor `fd` of process `pid` names (`None`: not open).
    fn get(&self, pid: Pid, fd: Fd) -> Option<Self::Cap>;
    /// How many more descriptors process `pid`'s table takes.
    fn room(&self, pid: Pid) -> usize;
    /// Puts `cap` in `pid`'s table (the caller checked [`Descriptors::room`]),
    /// moving the reference into the table; returns its descriptor.
    fn install(&mut self, pid: Pid, cap: Self::Cap) -> Fd;
    /// Takes descriptor `fd` out of `pid`'s table, moving its reference to
    /// the caller (`None`: not open).
    fn remove(&mut self, pid: Pid, fd: Fd) -> Option<Self::Cap>;
    /// Counts one more reference to `cap`'s object (never a door).
    fn retain(&mut self, cap: Self::Cap);
    /// Drops one reference to `cap`'s object (never a door).
    fn release(&mut self, cap: Self::Cap);
}
