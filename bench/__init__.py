"""fleetdocs benchmarks: every figure beside a baseline measured in the same run.

`scripts/bench` is the entry point; each module here measures one area and returns
`Result`s (see bench.results), which the script prints and appends to bench/results/.
"""
