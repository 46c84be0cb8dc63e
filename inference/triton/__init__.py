"""Triton serving: the model repository, its preparation script and a local test server launcher."""
