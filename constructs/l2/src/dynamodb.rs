//! (dynamodb: in progress)
