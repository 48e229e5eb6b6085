//! (logs: in progress)
