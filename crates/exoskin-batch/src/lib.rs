//! exoskin-batch
