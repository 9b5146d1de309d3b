//! How `gatgrad` ends: the exit statuses it uses, and the failure a command returns.

use std::fmt::Display;
use std::process::ExitCode;

/// The exit status of `gatgrad`; there are no others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 0: the command did what was asked.
    Success,
    /// 1: the program (`.gat` file) is wrong; its errors are printed as `file:line:col`.
    WrongProgram,
    /// 2: bad data, arguments or environment (a tensor file, a dataset, a flag value, an output
    /// that cannot be written, a file that cannot be read).
    BadInput,
}

impl Status {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::WrongProgram => 1,
            Status::BadInput => 2,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s.code())
    }
}

/// Why a command failed: the status to exit with and what to print on stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub status: Status,
    /// One line naming what is wrong (or a wrong program's rendered diagnostics).
    pub message: String,
}

impl Failure {
    /// The `.gat` file is wrong (exit status 1).
    pub fn program(message: impl Display) -> Failure {
        Failure {
            status: Status::WrongProgram,
            message: message.to_string(),
        }
    }

    /// Bad data, arguments or environment (exit status 2).
    pub fn input(message: impl Display) -> Failure {
        Failure {
            status: Status::BadInput,
            message: message.to_string(),
        }
    }
}
