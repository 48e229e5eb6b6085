//! Lake Formation: data lake settings and permissions.
