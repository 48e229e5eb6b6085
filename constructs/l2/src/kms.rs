//! (kms: in progress)
