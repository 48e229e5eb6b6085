//! (elbv2: in progress)
