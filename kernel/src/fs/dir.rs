//! A directory's entries, with the cookies `getdents64` resumes from.
//!
//! Each entry gets a cookie when it is made, from a counter that only
//! grows, and a listing returns entries in cookie order after the cookie it
//! was given. So a listing interrupted by changes still returns every entry
//! that existed throughout exactly once, as POSIX asks of `readdir`.
//! Cookies [`DOT`] and [`DOTDOT`] stand for `.` and `..`, which are not
//! stored.

use super::NodeId;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::collections::btree_map::Entry;

/// The cookie after `.`.
pub(super) const DOT: u64 = 1;
/// The cookie after `..`; stored entries have larger ones.
pub(super) const DOTDOT: u64 = 2;

pub(super) struct Dir {
    /// The directory holding this one; `None` for the root and for a
    /// removed directory.
    parent: Option<NodeId>,
    /// Its name in `parent`.
    name: Box<[u8]>,
    /// Entries by name: the node and the entry's cookie.
    by_name: BTreeMap<Box<[u8]>, (NodeId, u64)>,
    /// Entry names by cookie.
    by_cookie: BTreeMap<u64, Box<[u8]>>,
    next_cookie: u64,
    /// Entries that are directories (for `st_nlink`).
    subdirs: u32,
}

impl Dir {
    /// An empty directory, not yet placed anywhere.
    pub fn new() -> Self {
        Dir {
            parent: None,
            name: Box::default(),
            by_name: BTreeMap::new(),
            by_cookie: BTreeMap::new(),
            next_cookie: DOTDOT + 1,
            subdirs: 0,
        }
    }

    pub fn parent(&self) -> Option<NodeId> {
        self.parent
    }

    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Records where this directory is now (`None`: removed).
    pub fn set_place(&mut self, parent: Option<NodeId>, name: &[u8]) {
        self.parent = parent;
        self.name = name.into();
    }

    pub fn lookup(&self, name: &[u8]) -> Option<NodeId> {
        self.by_name.get(name).map(|&(node, _)| node)
    }

    /// Adds `name` for `node` unless the directory has it already (false,
    /// nothing changed): one search for both.
    pub fn try_insert(&mut self, name: &[u8], node: NodeId, is_dir: bool) -> bool {
        let cookie = self.next_cookie;
        let Entry::Vacant(entry) = self.by_name.entry(name.into()) else {
            return false;
        };
        entry.insert((node, cookie));
        self.next_cookie += 1;
        self.by_cookie.insert(cookie, name.into());
        self.subdirs += u32::from(is_dir);
        true
    }

    /// Removes `name` (which must exist).
    pub fn remove(&mut self, name: &[u8], is_dir: bool) {
        let (_, cookie) = self.by_name.remove(name).expect("no such directory entry");
        self.by_cookie.remove(&cookie);
        self.subdirs -= u32::from(is_dir);
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn subdirs(&self) -> u32 {
        self.subdirs
    }

    /// The stored entries after `cookie`, in cookie order, as (cookie,
    /// name, node).
    pub fn entries_after(&self, cookie: u64) -> impl Iterator<Item = (u64, &[u8], NodeId)> {
        self.by_cookie
            .range(cookie.max(DOTDOT).saturating_add(1)..)
            .map(|(&cookie, name)| (cookie, &name[..], self.by_name[name].0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn names(dir: &Dir, after: u64) -> Vec<(u64, Vec<u8>)> {
        dir.entries_after(after)
            .map(|(cookie, name, _)| (cookie, name.to_vec()))
            .collect()
    }

    #[test]
    fn listing_resumes_after_a_cookie_across_changes() {
        let mut dir = Dir::new();
        assert!(dir.try_insert(b"b", NodeId(10), false));
        assert!(dir.try_insert(b"a", NodeId(11), true));
        assert!(!dir.try_insert(b"a", NodeId(13), false), "taken");
        assert_eq!(dir.subdirs(), 1);
        let first = names(&dir, 0);
        assert_eq!(first, [(3, b"b".to_vec()), (4, b"a".to_vec())]);
        // Removing a listed entry and adding a new one: the rest of the
        // listing after cookie 3 sees "a" once, then the new entry.
        dir.remove(b"b", false);
        assert!(dir.try_insert(b"c", NodeId(12), false));
        // The refused entry took no cookie.
        assert_eq!(names(&dir, 3), [(4, b"a".to_vec()), (5, b"c".to_vec())]);
        assert_eq!(names(&dir, 5), []);
        assert_eq!(dir.lookup(b"c"), Some(NodeId(12)));
        assert_eq!(dir.lookup(b"b"), None);
        dir.remove(b"a", true);
        assert_eq!((dir.subdirs(), dir.len()), (0, 1));
    }
}
