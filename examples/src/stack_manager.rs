//! (stack_manager: in progress)
