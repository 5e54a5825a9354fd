//! Shared workload code of the benchmarks.
