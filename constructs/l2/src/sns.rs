//! (sns: in progress)
