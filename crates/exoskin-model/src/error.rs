//! Errors in input files: what is wrong, where (file, line, column, key), how to fix it. The
//! types live in `exoskin_io::located`, so that the crates that read other files (QC records,
//! product files) share them without depending on the skin model; the model's error is the
//! located input error.

pub use exoskin_io::located::{
    check_positive, check_range, InputError as ModelError, Invalid, Place, ScenarioError,
    SourceLocation,
};
