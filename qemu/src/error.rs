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
    /// The run was asked for something impossible (an unknown program, a
    /// word with a space in it, a path QEMU cannot take).
    Config(String),
}

impl Error {
    /// An [`Error::Io`] saying what was being done when `err` happened.
    pub(crate) fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
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
