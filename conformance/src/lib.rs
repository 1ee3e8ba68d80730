//! exile conformance probes.
