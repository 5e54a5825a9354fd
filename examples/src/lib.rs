//! Holds the runnable examples of the workspace; see `quickstart.rs`.
