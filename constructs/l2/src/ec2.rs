//! (ec2: in progress)
