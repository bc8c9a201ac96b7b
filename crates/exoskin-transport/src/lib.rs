//! exoskin-transport
