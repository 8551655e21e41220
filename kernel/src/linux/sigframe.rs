//! The frame a signal handler runs on, Linux's x86-64 `rt_sigframe`, and
//! what `rt_sigreturn` takes back from it. From the handler's stack
//! pointer up:
//!
//! | offset | what |
//! |---|---|
//! | 0 | return address: `sa_restorer` (musl's `__restore_rt`, which calls `rt_sigreturn`) |
//! | 8 | `ucontext_t`: `uc_flags`, `uc_link`, `uc_stack` (24 bytes), `uc_mcontext` (Linux's `struct sigcontext`, 256 bytes), `uc_sigmask` (8 bytes) |
//! | 312 | `siginfo_t` (128 bytes) |
//! | 440 | padding up to the FPU state |
//!
//! and above it the x87/SSE state in `fxsave` format (512 bytes, 64-byte
//! aligned as Linux places it; `uc_mcontext.fpstate` points at it). The
//! frame goes 128 bytes (the red zone) below the interrupted stack pointer,
//! or at the top of the alternate stack; the handler starts with its stack
//! pointer 8 below a multiple of 16, as after a call.
//!
//! `rt_sigreturn` reads the `ucontext_t` back with the stack pointer the
//! restorer has (8 above the frame), and takes nothing on trust: the
//! instruction pointer must be a user address, and of the flags only
//! those Linux lets a program set come back (never IOPL, NT or IF games);
//! the code and stack segments are the user ones whatever the frame says;
//! an MXCSR with reserved bits set is refused (`fxrstor` would fault).

use super::pending::{Info, SIGINFO_SIZE};
use abi::linux::SigStack;
use alloc::vec::Vec;

/// From the handler's stack pointer to the end of the `siginfo_t`.
pub const SIGFRAME_SIZE: usize = 440;
/// The `fxsave` image.
pub const FPU_SIZE: usize = 512;
/// Below the interrupted stack pointer, the part of the stack a leaf
/// function may use without moving it.
const RED_ZONE: u64 = 128;
const UCONTEXT: usize = 8;
const UC_STACK: usize = 24;
const MCONTEXT: usize = 48;
const SIGMASK: usize = 304;
const SIGINFO: usize = 312;
/// In `uc_mcontext`: after the 18 registers, the segments, then these.
const SEGMENTS: usize = MCONTEXT + 144;
const ERR: usize = MCONTEXT + 152;
const TRAPNO: usize = MCONTEXT + 160;
const OLDMASK: usize = MCONTEXT + 168;
const CR2: usize = MCONTEXT + 176;
const FPSTATE: usize = MCONTEXT + 184;
/// `uc_flags`: the frame records the stack segment (Linux's
/// UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS).
const UC_FLAGS: u64 = 0x2 | 0x4;
/// The user segments a frame records (the kernel's GDT): code, stack.
const USER_CS: u16 = 0x23;
const USER_SS: u16 = 0x1b;
/// RFLAGS bits a program may set through `rt_sigreturn` (Linux's
/// FIX_EFLAGS): CF, PF, AF, ZF, SF, TF, DF, OF, RF, AC.
const USER_FLAGS: u64 =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000;
/// The flags user code always runs with: IF, and bit 1 (always set).
const BASE_FLAGS: u64 = 0x202;
/// Cleared for the handler, as Linux does: DF, RF, TF.
const HANDLER_CLEARS: u64 = 0x400 | 0x1_0000 | 0x100;
/// Offset of MXCSR in an `fxsave` image.
const MXCSR: usize = 24;

/// The general registers of `struct sigcontext`, in its order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
}

impl Regs {
    fn to_array(self) -> [u64; 18] {
        [
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15,
            self.rdi,
            self.rsi,
            self.rbp,
            self.rbx,
            self.rdx,
            self.rax,
            self.rcx,
            self.rsp,
            self.rip,
            self.rflags,
        ]
    }

    fn from_array(a: [u64; 18]) -> Regs {
        let [
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            rdi,
            rsi,
            rbp,
            rbx,
            rdx,
            rax,
            rcx,
            rsp,
            rip,
            rflags,
        ] = a;
        Regs {
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            rdi,
            rsi,
            rbp,
            rbx,
            rdx,
            rax,
            rcx,
            rsp,
            rip,
            rflags,
        }
    }

    /// The flags a handler starts with, from the interrupted ones.
    pub fn handler_flags(rflags: u64) -> u64 {
        rflags & !HANDLER_CLEARS
    }
}

/// Where a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The handler's stack pointer (the return address is there).
    pub frame: u64,
    /// The FPU state (64-byte aligned).
    pub fpstate: u64,
}

impl Placement {
    /// Where the frame goes for a thread whose stack pointer is `sp`, on
    /// the alternate stack `(base, size)` if given: `None` if it does not
    /// fit there (or wraps around).
    pub fn new(sp: u64, alt: Option<(u64, u64)>) -> Option<Placement> {
        let top = match alt {
            Some((base, size)) => base.checked_add(size)?,
            None => sp.checked_sub(RED_ZONE)?,
        };
        let fpstate = top.checked_sub(FPU_SIZE as u64)? & !63;
        let frame = (fpstate.checked_sub(SIGFRAME_SIZE as u64)? & !15).checked_sub(8)?;
        match alt {
            Some((base, _)) if frame < base => None,
            _ => Some(Placement { frame, fpstate }),
        }
    }

    /// The bytes from the frame to the end of the FPU state.
    pub fn size(&self) -> u64 {
        self.fpstate + FPU_SIZE as u64 - self.frame
    }

    /// The handler's second argument: the `siginfo_t`.
    pub fn siginfo(&self) -> u64 {
        self.frame + SIGINFO as u64
    }

    /// The handler's third argument: the `ucontext_t`.
    pub fn ucontext(&self) -> u64 {
        self.frame + UCONTEXT as u64
    }
}

/// What a frame records.
pub struct Saved<'a> {
    /// The interrupted registers.
    pub regs: Regs,
    /// The exception's vector and error code (0 for a system call), and
    /// the faulting address of a page fault.
    pub trapno: u64,
    pub err: u64,
    pub cr2: u64,
    pub info: Info,
    /// The mask `rt_sigreturn` restores.
    pub mask: u64,
    /// The alternate stack as it was (`uc_stack`).
    pub stack: SigStack,
    /// The handler's return address.
    pub restorer: u64,
    /// The interrupted FPU state.
    pub fpu: &'a [u8; FPU_SIZE],
}

fn put(out: &mut [u8], at: usize, value: u64) {
    out[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn get(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The bytes of the frame for `saved` at `place` (`place.size()` of them).
pub fn encode(place: &Placement, saved: &Saved) -> Vec<u8> {
    let mut out = alloc::vec![0u8; place.size() as usize];
    put(&mut out, 0, saved.restorer);
    put(&mut out, UCONTEXT, UC_FLAGS);
    put(&mut out, UC_STACK, saved.stack.ss_sp);
    out[UC_STACK + 8..UC_STACK + 12].copy_from_slice(&saved.stack.ss_flags.to_le_bytes());
    put(&mut out, UC_STACK + 16, saved.stack.ss_size);
    for (i, value) in saved.regs.to_array().into_iter().enumerate() {
        put(&mut out, MCONTEXT + 8 * i, value);
    }
    let segments = [USER_CS, 0, 0, USER_SS];
    for (i, s) in segments.into_iter().enumerate() {
        out[SEGMENTS + 2 * i..SEGMENTS + 2 * i + 2].copy_from_slice(&s.to_le_bytes());
    }
    put(&mut out, ERR, saved.err);
    put(&mut out, TRAPNO, saved.trapno);
    put(&mut out, OLDMASK, saved.mask);
    put(&mut out, CR2, saved.cr2);
    put(&mut out, FPSTATE, place.fpstate);
    put(&mut out, SIGMASK, saved.mask);
    out[SIGINFO..SIGINFO + SIGINFO_SIZE].copy_from_slice(&saved.info.encode());
    let fpu = (place.fpstate - place.frame) as usize;
    out[fpu..fpu + FPU_SIZE].copy_from_slice(saved.fpu);
    out
}

/// What `rt_sigreturn` restores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The registers, the flags already sanitised.
    pub regs: Regs,
    /// The mask (not yet stripped of SIGKILL and SIGSTOP).
    pub mask: u64,
    /// Where the FPU state is (0: none, the initial state).
    pub fpstate: u64,
    /// `uc_stack`: the alternate stack to restore.
    pub stack: SigStack,
}

/// Why `rt_sigreturn` refused a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadFrame {
    /// The instruction pointer is not a user address.
    Rip(u64),
    /// MXCSR has reserved bits set.
    Mxcsr(u32),
}

/// Decodes the frame whose first [`SIGFRAME_SIZE`] bytes are `bytes` (from
/// the return address on): the instruction pointer must be below
/// `user_end`; the flags keep only what a program may set.
pub fn decode(bytes: &[u8; SIGFRAME_SIZE], user_end: u64) -> Result<Restored, BadFrame> {
    let mut gregs = [0u64; 18];
    for (i, value) in gregs.iter_mut().enumerate() {
        *value = get(bytes, MCONTEXT + 8 * i);
    }
    let mut regs = Regs::from_array(gregs);
    if regs.rip >= user_end {
        return Err(BadFrame::Rip(regs.rip));
    }
    regs.rflags = BASE_FLAGS | (regs.rflags & USER_FLAGS);
    let mut flags = [0u8; 4];
    flags.copy_from_slice(&bytes[UC_STACK + 8..UC_STACK + 12]);
    Ok(Restored {
        regs,
        mask: get(bytes, SIGMASK),
        fpstate: get(bytes, FPSTATE),
        stack: SigStack {
            ss_sp: get(bytes, UC_STACK),
            ss_flags: i32::from_le_bytes(flags),
            ss_size: get(bytes, UC_STACK + 16),
        },
    })
}

/// Checks an `fxsave` image from a frame before `fxrstor` loads it: no
/// MXCSR bit outside `mxcsr_mask` (the CPU's).
pub fn check_fpu(fpu: &[u8; FPU_SIZE], mxcsr_mask: u32) -> Result<(), BadFrame> {
    let mut word = [0u8; 4];
    word.copy_from_slice(&fpu[MXCSR..MXCSR + 4]);
    let mxcsr = u32::from_le_bytes(word);
    match mxcsr & !mxcsr_mask {
        0 => Ok(()),
        _ => Err(BadFrame::Mxcsr(mxcsr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::pending::SEGV_MAPERR;
    use proptest::prelude::*;

    const USER_END: u64 = 0x0000_7fff_ffff_f000;

    fn regs(seed: u64) -> Regs {
        let mut a = [0u64; 18];
        for (i, v) in a.iter_mut().enumerate() {
            *v = seed.wrapping_mul(i as u64 + 1) ^ 0x5555;
        }
        a[16] = 0x40_1234; // rip
        a[17] = 0x246; // rflags: IF, ZF, PF
        Regs::from_array(a)
    }

    fn saved(fpu: &[u8; FPU_SIZE], seed: u64) -> Saved<'_> {
        Saved {
            regs: regs(seed),
            trapno: 14,
            err: 6,
            cr2: 0x1000,
            info: Info::fault(11, SEGV_MAPERR, 0x1000),
            mask: 0x1234,
            stack: SigStack {
                ss_sp: 0x10_0000,
                ss_flags: 1,
                ss_size: 8192,
            },
            restorer: 0x40_0800,
            fpu,
        }
    }

    #[test]
    fn the_frame_is_linuxs() {
        let fpu = [7u8; FPU_SIZE];
        let place = Placement::new(0x7fff_0000, None).unwrap();
        assert_eq!(place.fpstate, (0x7fff_0000 - 128 - 512) & !63);
        assert_eq!(place.frame % 16, 8);
        let s = saved(&fpu, 3);
        let bytes = encode(&place, &s);
        assert_eq!(get(&bytes, 0), 0x40_0800, "return address");
        assert_eq!(get(&bytes, MCONTEXT + 16 * 8), 0x40_1234, "rip");
        assert_eq!(get(&bytes, MCONTEXT + 15 * 8), s.regs.rsp, "rsp");
        assert_eq!(&bytes[SEGMENTS..SEGMENTS + 2], &[0x23, 0]);
        assert_eq!(get(&bytes, TRAPNO), 14);
        assert_eq!(get(&bytes, CR2), 0x1000);
        assert_eq!(get(&bytes, FPSTATE), place.fpstate);
        assert_eq!(get(&bytes, SIGMASK), 0x1234);
        assert_eq!(&bytes[SIGINFO..SIGINFO + 4], &11u32.to_le_bytes());
        assert_eq!(place.siginfo(), place.frame + 312);
        assert_eq!(place.ucontext(), place.frame + 8);
        let fp = (place.fpstate - place.frame) as usize;
        assert!(bytes[fp..].iter().all(|&b| b == 7));
        let mut head = [0u8; SIGFRAME_SIZE];
        head.copy_from_slice(&bytes[..SIGFRAME_SIZE]);
        let back = decode(&head, USER_END).unwrap();
        assert_eq!(back.regs, s.regs);
        assert_eq!((back.mask, back.fpstate), (0x1234, place.fpstate));
        assert_eq!(back.stack, s.stack);
    }

    #[test]
    fn alternate_stacks_hold_the_frame_or_refuse_it() {
        let place = Placement::new(0x7fff_0000, Some((0x10_0000, 8192))).unwrap();
        assert!(place.frame >= 0x10_0000 && place.fpstate + 512 <= 0x10_2000);
        assert_eq!(Placement::new(0x7fff_0000, Some((0x10_0000, 900))), None);
        assert_eq!(Placement::new(100, None), None);
        assert_eq!(Placement::new(0, Some((u64::MAX - 10, 100))), None);
    }

    #[test]
    fn hostile_frames_are_refused_or_tamed() {
        let mut head = [0u8; SIGFRAME_SIZE];
        let rip = MCONTEXT + 16 * 8;
        head[rip..rip + 8].copy_from_slice(&0xffff_8000_0000_0000u64.to_le_bytes());
        assert_eq!(
            decode(&head, USER_END),
            Err(BadFrame::Rip(0xffff_8000_0000_0000))
        );
        head[rip..rip + 8].copy_from_slice(&USER_END.to_le_bytes());
        assert!(decode(&head, USER_END).is_err());
        head[rip..rip + 8].copy_from_slice(&0x40_0000u64.to_le_bytes());
        let flags = MCONTEXT + 17 * 8;
        head[flags..flags + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let back = decode(&head, USER_END).unwrap();
        assert_eq!(back.regs.rflags, 0x202 | USER_FLAGS);
        assert_eq!(back.regs.rflags & 0x3000, 0, "no IOPL");
        assert_eq!(back.regs.rflags & 0x4000, 0, "no NT");
        let mut fpu = [0u8; FPU_SIZE];
        fpu[MXCSR..MXCSR + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
        assert_eq!(check_fpu(&fpu, 0xffbf), Ok(()));
        fpu[MXCSR..MXCSR + 4].copy_from_slice(&0x1_1f80u32.to_le_bytes());
        assert_eq!(check_fpu(&fpu, 0xffbf), Err(BadFrame::Mxcsr(0x1_1f80)));
        assert_eq!(Regs::handler_flags(0x702 | 0x1_0000), 0x202);
    }

    proptest! {
        #[test]
        fn frames_fit_and_align(sp in 0u64..=USER_END, base in 0u64..USER_END, size in 0u64..0x10_0000,
                                alt in any::<bool>()) {
            let stack = alt.then_some((base, size));
            if let Some(place) = Placement::new(sp, stack) {
                prop_assert_eq!(place.frame % 16, 8);
                prop_assert_eq!(place.fpstate % 64, 0);
                prop_assert!(place.frame + SIGFRAME_SIZE as u64 <= place.fpstate);
                let top = match stack {
                    Some((b, s)) => {
                        prop_assert!(place.frame >= b);
                        b + s
                    }
                    None => sp - RED_ZONE,
                };
                prop_assert!(place.fpstate + FPU_SIZE as u64 <= top);
                prop_assert!(place.size() < 2 * 1024);
            }
        }

        #[test]
        fn any_frame_decodes_safely(bytes in proptest::collection::vec(any::<u8>(), SIGFRAME_SIZE)) {
            let mut head = [0u8; SIGFRAME_SIZE];
            head.copy_from_slice(&bytes);
            if let Ok(back) = decode(&head, USER_END) {
                prop_assert!(back.regs.rip < USER_END);
                prop_assert_eq!(back.regs.rflags & !USER_FLAGS, 0x202);
            }
        }

        #[test]
        fn encode_then_decode_gives_the_registers_back(seed in any::<u64>(), sp in 0x10_0000u64..USER_END) {
            let fpu = [0u8; FPU_SIZE];
            let s = saved(&fpu, seed);
            let place = Placement::new(sp, None).unwrap();
            let bytes = encode(&place, &s);
            let mut head = [0u8; SIGFRAME_SIZE];
            head.copy_from_slice(&bytes[..SIGFRAME_SIZE]);
            let back = decode(&head, USER_END).unwrap();
            prop_assert_eq!(back.regs, s.regs);
            prop_assert_eq!(back.mask, s.mask);
        }
    }
}
