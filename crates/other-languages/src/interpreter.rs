//! Finding `node` and `python3`, and what to say when one is missing.
//!
//! A machine without Node.js can still run every Rust style: `rosetta compare` shows the
//! JavaScript rows as "not installed", with the one command that installs it. The test suite is
//! stricter: it runs the programs and fails when an interpreter is missing (`.ci/run` installs
//! both), so a missing interpreter can never pass for a passing test.
//!
//! `ROSETTA_NODE` and `ROSETTA_PYTHON` name another interpreter (a path, or a command on
//! `PATH`); the tests use them to see what a machine without one looks like.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Who runs a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interpreter {
    /// Node.js, for the JavaScript programs.
    Node,
    /// CPython, for the asyncio program.
    Python,
}

/// An interpreter found on this machine, recent enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The command that runs it.
    pub command: String,
    /// Its version, as it prints it (`v20.20.2`, `Python 3.11.7`).
    pub version: String,
}

impl Interpreter {
    /// The interpreter's name for people.
    pub fn name(self) -> &'static str {
        match self {
            Interpreter::Node => "Node.js",
            Interpreter::Python => "Python",
        }
    }

    /// The command that runs it: `ROSETTA_NODE` / `ROSETTA_PYTHON` if set, else `node` /
    /// `python3`.
    pub fn command(self) -> String {
        let (variable, default) = match self {
            Interpreter::Node => ("ROSETTA_NODE", "node"),
            Interpreter::Python => ("ROSETTA_PYTHON", "python3"),
        };
        std::env::var(variable).unwrap_or_else(|_| default.to_string())
    }

    /// The oldest version the programs run on: Node.js 18 (the first with `fetch` and
    /// `AbortSignal.timeout`; 20 or later is what the project tests), Python 3.11 (the first
    /// with `asyncio.TaskGroup` and `asyncio.timeout`).
    pub fn minimum(self) -> (u32, u32) {
        match self {
            Interpreter::Node => (18, 0),
            Interpreter::Python => (3, 11),
        }
    }

    /// The one command that installs it on this machine, or where to get it.
    pub fn install(self) -> String {
        let apt = std::path::Path::new("/usr/bin/apt-get").exists();
        match (self, apt, cfg!(target_os = "macos")) {
            (Interpreter::Node, true, _) => "install it: sudo apt-get install -y nodejs".into(),
            (Interpreter::Python, true, _) => "install it: sudo apt-get install -y python3".into(),
            (Interpreter::Node, _, true) => "install it: brew install node".into(),
            (Interpreter::Python, _, true) => "install it: brew install python@3.12".into(),
            (Interpreter::Node, ..) => "install Node.js 20 or later from https://nodejs.org".into(),
            (Interpreter::Python, ..) => {
                "install Python 3.11 or later from https://www.python.org".into()
            }
        }
    }

    /// What is needed, for a "not installed" line: `Node.js 18 or later`.
    pub fn needs(self) -> String {
        let (major, minor) = self.minimum();
        match self {
            Interpreter::Node => format!("{} {major} or later", self.name()),
            Interpreter::Python => format!("{} {major}.{minor} or later", self.name()),
        }
    }

    /// The interpreter on this machine, asked once per process; or what is wrong: not found,
    /// or too old (the error says which version it found).
    pub fn find(self) -> Result<Found, String> {
        static NODE: OnceLock<Result<Found, String>> = OnceLock::new();
        static PYTHON: OnceLock<Result<Found, String>> = OnceLock::new();
        let cell = match self {
            Interpreter::Node => &NODE,
            Interpreter::Python => &PYTHON,
        };
        cell.get_or_init(|| self.ask()).clone()
    }

    fn ask(self) -> Result<Found, String> {
        let command = self.command();
        let output = Command::new(&command)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("`{command}` does not run ({error})"))?;
        // Python before 3.4 printed its version on stderr; read both.
        let printed = String::from_utf8_lossy(if output.stdout.is_empty() {
            &output.stderr
        } else {
            &output.stdout
        })
        .trim()
        .to_string();
        let version = parse_version(&printed)
            .ok_or_else(|| format!("`{command} --version` printed {printed:?}, not a version"))?;
        if version < self.minimum() {
            return Err(format!("`{command}` is {printed}, too old"));
        }
        Ok(Found {
            command,
            version: printed,
        })
    }
}

/// The major and minor version in `v20.20.2` or `Python 3.11.7`.
fn parse_version(printed: &str) -> Option<(u32, u32)> {
    let number = printed.rsplit([' ', 'v']).next()?;
    let mut parts = number.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_node_and_python_print_them() {
        assert_eq!(parse_version("v20.20.2"), Some((20, 20)));
        assert_eq!(parse_version("Python 3.11.7"), Some((3, 11)));
        assert_eq!(parse_version("Python 3.13.0rc1"), Some((3, 13)));
        assert_eq!(parse_version("command not found"), None);
        assert!((3, 9) < Interpreter::Python.minimum());
        assert!((20, 1) >= Interpreter::Node.minimum());
    }

    #[test]
    fn a_missing_interpreter_says_what_is_needed_and_how_to_get_it() {
        for interpreter in [Interpreter::Node, Interpreter::Python] {
            assert!(interpreter.needs().contains(interpreter.name()));
            assert!(interpreter.install().contains("install"));
        }
    }
}
