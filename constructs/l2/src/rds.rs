//! (rds: in progress)
