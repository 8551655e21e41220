//! An idiomatic Rust layer over the doors API: a [`Door`] handle whose
//! methods return `Result`, servers written as closures, and calls that
//! return owned results (copying out of, and unmapping, any result area the
//! kernel had to map).

use super::*;
use crate::heap::unmap;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use spin::Mutex;

/// Result buffer used by [`Door::call`] before the kernel has to map one.
const INLINE_RESULT: usize = 4096;

/// A door descriptor of this process.
#[derive(Debug, PartialEq, Eq)]
pub struct Door {
    fd: i32,
}

/// One invocation, as a server closure sees it.
pub struct Invocation<'a> {
    pub data: &'a [u8],
    pub descs: &'a [door_desc_t],
    unref: bool,
}

impl Invocation<'_> {
    /// Whether this is an unreferenced notice rather than a call.
    pub fn is_unref(&self) -> bool {
        self.unref
    }
}

/// What a server closure returns to its caller.
#[derive(Default)]
pub struct Response {
    pub data: Vec<u8>,
    pub descs: Vec<door_desc_t>,
}

impl Response {
    pub fn data(data: Vec<u8>) -> Response {
        Response {
            data,
            descs: Vec::new(),
        }
    }
}

/// The results of a call.
#[derive(Debug, Default)]
pub struct Reply {
    pub data: Vec<u8>,
    pub descs: Vec<door_desc_t>,
}

/// Each server thread's last response: kept alive until its next
/// invocation, because door_return copies it and never comes back.
static RESPONSES: Mutex<BTreeMap<u32, Response>> = Mutex::new(BTreeMap::new());

fn last_error() -> Errno {
    errno()
}

extern "C" fn trampoline<F>(
    cookie: *mut c_void,
    argp: *mut u8,
    size: usize,
    dp: *mut door_desc_t,
    n: u32,
) where
    F: Fn(&Invocation) -> Response + Send + Sync + 'static,
{
    // SAFETY: the cookie is the leaked `Box<F>` of `Door::create`.
    let f = unsafe { &*(cookie as *const F) };
    let unref = argp as u64 == DOOR_UNREF_DATA;
    // SAFETY: the kernel laid out `size` bytes and `n` descriptors there.
    let (data, descs) = unsafe {
        (
            if unref || size == 0 {
                &[][..]
            } else {
                core::slice::from_raw_parts(argp, size)
            },
            if n == 0 {
                &[][..]
            } else {
                core::slice::from_raw_parts(dp, n as usize)
            },
        )
    };
    let response = f(&Invocation { data, descs, unref });
    let (ptr, len, dptr, dn) = {
        let mut slots = RESPONSES.lock();
        let r = slots.entry(thread::gettid()).or_default();
        *r = response;
        (
            r.data.as_mut_ptr(),
            r.data.len(),
            r.descs.as_mut_ptr(),
            r.descs.len() as u32,
        )
    };
    door_return(ptr, len, dptr, dn);
    // door_return failed (for example E2BIG or EMFILE): end the invocation
    // with no results.
    door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
}

impl Door {
    /// Creates a door served by `server` with `attributes` (DOOR_PRIVATE,
    /// DOOR_UNREF, ...). The closure lives as long as the process.
    pub fn create<F>(attributes: u32, server: F) -> Result<Door, Errno>
    where
        F: Fn(&Invocation) -> Response + Send + Sync + 'static,
    {
        let cookie = Box::into_raw(Box::new(server)) as *mut c_void;
        match door_create(trampoline::<F>, cookie, attributes) {
            -1 => {
                // SAFETY: the door was not created, so the box is unused.
                drop(unsafe { Box::from_raw(cookie as *mut F) });
                Err(last_error())
            }
            fd => Ok(Door { fd }),
        }
    }

    /// Wraps a descriptor this process holds (received or inherited).
    pub fn from_fd(fd: i32) -> Door {
        Door { fd }
    }

    /// Opens the door attached at `path`. Errors: those of `open`, and
    /// EBADF when `path` names no door (the descriptor is closed again).
    pub fn open(path: &str) -> Result<Door, Errno> {
        let fd = crate::fs::open(path, abi::fs::O_RDONLY, 0)?;
        match crate::fs::fstat(fd) {
            Ok(st) if st.st_mode & abi::fs::S_IFMT == abi::fs::S_IFDOOR => Ok(Door { fd }),
            _ => {
                let _ = crate::fs::close(fd);
                Err(Errno::EBADF)
            }
        }
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Calls the door with `data` and `descs`; returns the results.
    pub fn call(&self, data: &[u8], descs: &[door_desc_t]) -> Result<Reply, Errno> {
        let mut rbuf = vec![0u8; INLINE_RESULT];
        let mut arg = door_arg_t {
            data_ptr: data.as_ptr() as u64,
            data_size: data.len() as u64,
            desc_ptr: descs.as_ptr() as u64,
            desc_num: descs.len() as u32,
            rbuf: rbuf.as_mut_ptr() as u64,
            rsize: rbuf.len() as u64,
        };
        if door_call(self.fd, &mut arg) == -1 {
            return Err(last_error());
        }
        // SAFETY: the kernel points data_ptr/desc_ptr into the result area
        // (our buffer or a new mapping) with the sizes it wrote.
        let reply = unsafe {
            Reply {
                data: core::slice::from_raw_parts(
                    arg.data_ptr as *const u8,
                    arg.data_size as usize,
                )
                .to_vec(),
                descs: core::slice::from_raw_parts(
                    arg.desc_ptr as *const door_desc_t,
                    arg.desc_num as usize,
                )
                .to_vec(),
            }
        };
        if arg.rbuf != rbuf.as_ptr() as u64 {
            unmap(arg.rbuf as usize, arg.rsize as usize)?;
        }
        Ok(reply)
    }

    /// door_info of this door.
    pub fn info(&self) -> Result<door_info_t, Errno> {
        let mut info = door_info_t::default();
        match door_info(self.fd, &mut info) {
            -1 => Err(last_error()),
            _ => Ok(info),
        }
    }

    /// fattach: attaches the door over the existing file `path`.
    pub fn attach(&self, path: &str) -> Result<(), Errno> {
        match fattach(self.fd, path) {
            -1 => Err(last_error()),
            _ => Ok(()),
        }
    }

    /// Attaches the door at `path`, first making an empty file there
    /// (0644) if there is none: how a server names its door (the example
    /// of door_create(3C)). [`detach_file`] undoes both.
    pub fn attach_file(&self, path: &str) -> Result<(), Errno> {
        let options = crate::fs::OpenOptions::new().write(true).create(true);
        drop(options.mode(0o644).open(path)?);
        self.attach(path)
    }

    pub fn set_param(&self, param: i32, value: usize) -> Result<(), Errno> {
        match door_setparam(self.fd, param, value) {
            -1 => Err(last_error()),
            _ => Ok(()),
        }
    }

    pub fn param(&self, param: i32) -> Result<usize, Errno> {
        let mut v = 0usize;
        match door_getparam(self.fd, param, &mut v) {
            -1 => Err(last_error()),
            _ => Ok(v),
        }
    }

    /// A descriptor entry passing this door (add `DOOR_RELEASE` to give it away).
    pub fn pass(&self, release: bool) -> door_desc_t {
        door_desc_t::new(
            self.fd,
            DOOR_DESCRIPTOR | if release { DOOR_RELEASE } else { 0 },
        )
    }

    /// Revokes the door (only its creator may) and closes the descriptor.
    pub fn revoke(self) -> Result<(), Errno> {
        match door_revoke(self.fd) {
            -1 => Err(last_error()),
            _ => Ok(()),
        }
    }

    pub fn close(self) -> Result<(), Errno> {
        match close(self.fd) {
            -1 => Err(last_error()),
            _ => Ok(()),
        }
    }
}

/// Takes the door off `path` and removes the file beneath (what
/// [`Door::attach_file`] made).
pub fn detach_file(path: &str) -> Result<(), Errno> {
    if fdetach(path) == -1 {
        return Err(last_error());
    }
    crate::fs::unlink(path)
}

/// Makes the calling thread a server thread of this process: it parks in
/// door_return and serves invocations until the process ends.
pub fn serve_forever() -> ! {
    loop {
        door_return(core::ptr::null_mut(), 0, core::ptr::null_mut(), 0);
    }
}
