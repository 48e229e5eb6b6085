//! (events: in progress)
