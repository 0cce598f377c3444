//! Everything the binary prints goes through here.
//!
//! Values that came from a file, a certificate or a relay are escaped where
//! they are formatted (`congvan_text::Line`), so they cannot break a line.
//! This is the net under that: whatever reaches stdout or stderr is passed
//! through [`congvan_text::block`] (line breaks and tabs stay, every other
//! control, bidi or invisible character is shown as `\u{...}`), and JSON is
//! written by [`congvan_text::json`]. `clippy.toml` forbids `println!` and
//! friends elsewhere in this crate, so nothing can bypass it.
#![allow(clippy::disallowed_macros)]

use serde::Serialize;

use crate::failure::Failure;

/// Prints a line on stdout: `say!("{} written", path.display())`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::stdout(&format!($($arg)*), true)
    };
}

/// Prints a line on stderr.
macro_rules! say_err {
    ($($arg:tt)*) => {
        $crate::output::stderr(&format!($($arg)*), true)
    };
}

pub(crate) use {say, say_err};

/// Writes `text` on stdout, escaped, with a line break when `line`.
pub fn stdout(text: &str, line: bool) {
    let text = congvan_text::block(text);
    if line {
        println!("{text}");
    } else {
        print!("{text}");
    }
}

/// Writes `text` on stderr, escaped, with a line break when `line`.
pub fn stderr(text: &str, line: bool) {
    let text = congvan_text::block(text);
    if line {
        eprintln!("{text}");
    } else {
        eprint!("{text}");
    }
}

/// Prints `value` as indented JSON on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text = congvan_text::json::to_string_pretty(value)
        .map_err(|e| Failure::input(format!("cannot encode the output as JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
