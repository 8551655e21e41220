//! Who a program is: its user and group ids (with the native rule: an
//! effective id of 0 may take any id, others only their real or effective
//! one; saved ids are not kept, so the saved id reads as the real one),
//! `uname` and `getrandom`. `getppid` and the resource limits are the
//! native calls' handlers (`syscall::process`).

use super::SysResult;
use crate::mem::user::{UserPtr, UserSlice};
use crate::task::SCHED;
use abi::Errno;
use abi::linux::UTSNAME_FIELD;
use alloc::vec;

/// User or group ids.
#[derive(Clone, Copy)]
pub enum Ids {
    User,
    Group,
}

/// `setresuid(r, e, s)` and friends (`setuid`, `setreuid`; the group
/// forms): -1 (as a 32-bit value) leaves an id unchanged. With `setid`
/// (`setuid`/`setgid`) an effective id of 0 sets the real id too, as Linux
/// does. EPERM when the caller may not take an id; nothing changes then.
pub fn setresid(ids: Ids, real: u64, effective: u64, saved: u64, setid: bool) -> SysResult {
    let arg = |v: u64| (v as u32 != u32::MAX).then_some(v as u32);
    let (mut real, effective, saved) = (arg(real), arg(effective), arg(saved));
    let mut g = SCHED.lock();
    let mut cred = g.current_cred();
    let privileged = cred.euid == 0;
    let (r, e) = match ids {
        Ids::User => (&mut cred.ruid, &mut cred.euid),
        Ids::Group => (&mut cred.rgid, &mut cred.egid),
    };
    if setid && privileged {
        real = effective;
    }
    let (now_r, now_e) = (*r, *e);
    let allowed = |id: Option<u32>| privileged || id.is_none_or(|id| id == now_r || id == now_e);
    if !(allowed(real) && allowed(effective) && allowed(saved)) {
        return Err(Errno::EPERM);
    }
    if let Some(id) = real {
        *r = id;
    }
    if let Some(id) = effective {
        *e = id;
    }
    g.set_current_cred(cred);
    Ok(0)
}

/// `getresuid(r, e, s)` / `getresgid`: the saved id reads as the real one.
pub fn getresid(ids: Ids, out: [u64; 3]) -> SysResult {
    let mut g = SCHED.lock();
    let cred = g.current_cred();
    let (r, e) = match ids {
        Ids::User => (cred.ruid, cred.euid),
        Ids::Group => (cred.rgid, cred.egid),
    };
    let space = g.current_space();
    let ptrs = out.map(UserPtr::<u32>::new);
    for p in &ptrs {
        p.as_ref().map_err(|e| *e)?.check(space, true)?;
    }
    for (p, v) in ptrs.into_iter().zip([r, e, r]) {
        p?.write(space, &v)?;
    }
    Ok(0)
}

/// `uname(buf)`: the six fields of `struct utsname`.
pub fn uname(buf: u64) -> SysResult {
    let fields: [&[u8]; 6] = [
        b"doors",
        b"doors",
        env!("CARGO_PKG_VERSION").as_bytes(),
        b"doors microkernel, Linux x86-64 personality",
        b"x86_64",
        b"(none)",
    ];
    let mut bytes = vec![0u8; 6 * UTSNAME_FIELD];
    for (i, f) in fields.iter().enumerate() {
        bytes[i * UTSNAME_FIELD..i * UTSNAME_FIELD + f.len()].copy_from_slice(f);
    }
    let out = UserSlice::<u8>::new(buf, bytes.len() as u64)?;
    out.write_bytes(SCHED.lock().current_space(), &bytes)?;
    Ok(0)
}

/// Most bytes one `getrandom` returns (it may return fewer than asked,
/// as Linux's does for large requests).
const GETRANDOM_MAX: u64 = 64 * 1024;
const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

/// `getrandom(buf, len, flags)`: never blocks (the source is always
/// ready). Returns the bytes written.
pub fn getrandom(buf: u64, len: u64, flags: u64) -> SysResult {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(GETRANDOM_MAX);
    let out = UserSlice::<u8>::new(buf, len)?;
    let mut bytes = vec![0u8; len as usize];
    crate::random::fill(&mut bytes);
    out.write_bytes(SCHED.lock().current_space(), &bytes)?;
    Ok(len)
}
