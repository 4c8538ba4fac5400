"""The harness benchmarks and tests share (benchmarks never import tests): a tiny bundle, a running
server with keys, load helpers. Synthetic text only."""
