//! (sqs: in progress)
