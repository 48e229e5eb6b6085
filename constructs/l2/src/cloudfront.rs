//! CloudFront: distributions with origin access control.
