//! CodeBuild: projects with typed build specs.
