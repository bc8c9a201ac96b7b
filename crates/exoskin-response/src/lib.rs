//! Skin response (in progress).
