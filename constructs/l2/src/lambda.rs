//! (lambda: in progress)
