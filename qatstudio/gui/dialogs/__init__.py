"""Dialogs that run work on a Dask cluster: sweeps and the cheapest-circuit search."""
