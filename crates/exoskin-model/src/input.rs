//! Reading TOML input with located errors: `exoskin_io::input`, re-exported here for the
//! model's files.

pub use exoskin_io::input::*;
