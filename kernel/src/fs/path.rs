//! Paths: checking one, and walking it from a starting directory with a
//! search-permission check at every directory passed, as POSIX resolves
//! path names. Empty components (`a//b`) are skipped; a trailing slash
//! means the path must name a directory.
//!
//! A node covered by a door stands for the door wherever a component
//! (`.` and `..` included) reaches it, so a path cannot go through it
//! (ENOTDIR), as illumos traverses into the mounted door. The starting
//! directory itself is not reached by a component: a relative path from a
//! current directory that was covered later still resolves.

use super::{Cred, Fs, NodeId};
use crate::io::PageStore;
use abi::Errno;
use abi::fs::{NAME_MAX, PATH_MAX, X_OK};

/// A path that passed [`Path::parse`].
pub(super) struct Path<'p> {
    bytes: &'p [u8],
}

/// What the last component of a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Last<'p> {
    Name(&'p [u8]),
    Dot,
    DotDot,
    /// The path has no components: it is `/` (or `//`...).
    Root,
}

impl<'p> Path<'p> {
    /// ENOENT (empty), ENAMETOOLONG (the path, or one of its names),
    /// EINVAL (a NUL byte).
    pub fn parse(bytes: &'p [u8]) -> Result<Self, Errno> {
        if bytes.is_empty() {
            return Err(Errno::ENOENT);
        }
        if bytes.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if bytes.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let path = Path { bytes };
        if path.components().any(|name| name.len() > NAME_MAX) {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(path)
    }

    pub fn is_absolute(&self) -> bool {
        self.bytes[0] == b'/'
    }

    /// Whether it ends in `/` after at least one name (`/` alone does not
    /// count: it already names a directory).
    pub fn trailing_slash(&self) -> bool {
        self.bytes.ends_with(b"/") && self.components().next().is_some()
    }

    pub fn components(&self) -> impl DoubleEndedIterator<Item = &'p [u8]> + use<'p> {
        self.bytes.split(|&b| b == b'/').filter(|c| !c.is_empty())
    }
}

/// Checks a name for a directory entry made by the kernel: ENAMETOOLONG,
/// EINVAL (empty, `.`, `..`, or containing `/` or NUL).
pub(super) fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if matches!(name, b"" | b"." | b"..") || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn last_of(name: &[u8]) -> Last<'_> {
    match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        name => Last::Name(name),
    }
}

impl<S: PageStore, D: Copy> Fs<S, D> {
    /// The directory `dir`, checked as one the caller may search: ENOTDIR,
    /// EACCES.
    pub(super) fn check_search(&self, cred: Cred, dir: NodeId) -> Result<(), Errno> {
        let node = self.node(dir);
        node.as_dir().ok_or(Errno::ENOTDIR)?;
        node.check_access(cred, X_OK)
    }

    /// `..` of directory `dir`: itself for the root, ENOENT once removed.
    pub(super) fn dotdot(&self, dir: NodeId) -> Result<NodeId, Errno> {
        if dir == self.root {
            return Ok(dir);
        }
        self.dir(dir).parent().ok_or(Errno::ENOENT)
    }

    /// The directory `name` names in directory `dir` (checked first), for
    /// the walk to go on from: ENOTDIR if a door covers it.
    fn step(&self, cred: Cred, dir: NodeId, name: &[u8]) -> Result<NodeId, Errno> {
        self.check_search(cred, dir)?;
        let next = self.lookup_last(dir, last_of(name))?;
        if self.node(next).door.is_some() {
            return Err(Errno::ENOTDIR);
        }
        Ok(next)
    }

    /// The node `last` names in directory `dir` (already checked by
    /// [`Fs::resolve_parent`]): ENOENT if there is none.
    pub(super) fn lookup_last(&self, dir: NodeId, last: Last<'_>) -> Result<NodeId, Errno> {
        match last {
            Last::Name(name) => self.dir(dir).lookup(name).ok_or(Errno::ENOENT),
            Last::Dot => Ok(dir),
            Last::DotDot => self.dotdot(dir),
            Last::Root => Ok(self.root),
        }
    }

    /// The node `path` names, starting at `at` if it is relative. Errors:
    /// those of [`Path::parse`], ENOENT, ENOTDIR, EACCES.
    pub(super) fn resolve(&self, cred: Cred, at: NodeId, path: &[u8]) -> Result<NodeId, Errno> {
        let path = Path::parse(path)?;
        let (dir, last) = self.resolve_parent(cred, at, &path)?;
        let node = self.lookup_last(dir, last)?;
        if path.trailing_slash() {
            self.node(node).walkable_dir()?;
        }
        Ok(node)
    }

    /// The directory that holds the last component of `path` (checked as
    /// one the caller may search), and that component. Errors: ENOENT,
    /// ENOTDIR, EACCES.
    pub(super) fn resolve_parent<'p>(
        &self,
        cred: Cred,
        at: NodeId,
        path: &Path<'p>,
    ) -> Result<(NodeId, Last<'p>), Errno> {
        let mut dir = if path.is_absolute() { self.root } else { at };
        let mut names = path.components();
        let Some(last) = names.next_back() else {
            return Ok((dir, Last::Root));
        };
        for name in names {
            dir = self.step(cred, dir, name)?;
        }
        self.check_search(cred, dir)?;
        Ok((dir, last_of(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn parsing_checks_lengths_and_nul() {
        assert_eq!(Path::parse(b"").err(), Some(Errno::ENOENT));
        assert_eq!(Path::parse(b"a\0b").err(), Some(Errno::EINVAL));
        let long = [b'a'; PATH_MAX - 1];
        assert_eq!(
            Path::parse(&long).err(),
            Some(Errno::ENAMETOOLONG),
            "a name too long"
        );
        let mut ok = Vec::new();
        while ok.len() + 200 < PATH_MAX {
            ok.extend_from_slice(&[b'x'; 199]);
            ok.push(b'/');
        }
        assert!(Path::parse(&ok).is_ok());
        let too_long = [b"a/".as_slice(); PATH_MAX / 2].concat();
        assert_eq!(Path::parse(&too_long).err(), Some(Errno::ENAMETOOLONG));
        assert!(Path::parse(&too_long[..PATH_MAX - 1]).is_ok());
    }

    #[test]
    fn components_skip_empty_names_and_note_a_trailing_slash() {
        let path = Path::parse(b"//a//b/").unwrap();
        assert!(path.is_absolute());
        assert!(path.trailing_slash());
        assert_eq!(path.components().collect::<Vec<_>>(), [b"a", b"b"]);
        assert!(!Path::parse(b"/").unwrap().trailing_slash());
        assert!(!Path::parse(b"a").unwrap().is_absolute());
    }

    #[test]
    fn entry_names_exclude_separators_and_dots() {
        assert_eq!(check_name(b"ok"), Ok(()));
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert_eq!(check_name(bad), Err(Errno::EINVAL));
        }
        assert_eq!(check_name(&[b'n'; NAME_MAX + 1]), Err(Errno::ENAMETOOLONG));
    }
}
