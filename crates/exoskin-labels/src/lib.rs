//! exoskin-labels
