"""Maintenance tools for the inference package (model conversion, benchmarks); not imported at run time."""
