//! exoskin-model
