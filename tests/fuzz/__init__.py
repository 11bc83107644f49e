"""Property-based and fuzz tests: parsers under Hypothesis, the registry API under schemathesis."""
