//! (web_jobnet: in progress)
