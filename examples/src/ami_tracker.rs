//! (ami_tracker: in progress)
