//! (s3: in progress)
