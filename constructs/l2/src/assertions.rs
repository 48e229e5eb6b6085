//! (assertions: in progress)
