//! Benchmarks of exile filters against their peers (see RESULTS.md once written).
