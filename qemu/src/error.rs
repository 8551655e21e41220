//! Why a run could not happen at all (as opposed to a run whose guest failed,
//! which is an [`crate::Outcome`]).

use std::fmt;

/// An error of the runner itself. Every message says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A tool or the bare-metal target is missing; the message gives the fix.
    Setup(String),
    /// `cargo build` failed; the message holds cargo's output.
    Build(String),
    /// Reading or writing a file failed.
    Io(String),
    /// The run was asked for something impossible (a bad option, an
    /// unknown program, a file that cannot be read, a word with a space in
    /// it, a path QEMU cannot take): a usage error.
    Config(String),
}

impl Error {
    /// The runner's exit status for this error (the README's table): 125
    /// when the runner or QEMU could not run, 126 for a build failure, 127
    /// for a usage error.
    pub fn exit_status(&self) -> u8 {
        match self {
            Error::Setup(_) | Error::Io(_) => 125,
            Error::Build(_) => 126,
            Error::Config(_) => 127,
        }
    }

    /// An [`Error::Io`] saying what was being done when `err` happened.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        Error::Io(format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(msg) => write!(f, "setup: {msg}"),
            Error::Build(msg) => write!(f, "build failed: {msg}"),
            Error::Io(msg) => write!(f, "{msg}"),
            Error::Config(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}
