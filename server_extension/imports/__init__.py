"""Imports: originals copied into the managed store, pixels written as OME-Zarr, as jobs in a worker pool."""
