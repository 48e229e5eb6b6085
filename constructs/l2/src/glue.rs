//! Glue: databases, crawlers, jobs, security configurations.
