//! CloudFormation: StackSets and their ordering.
