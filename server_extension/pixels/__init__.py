"""Pixels: reading source formats, writing OME-Zarr pyramids into the store, and rendering them.

The layout every part relies on is described in ``docs/developer/pixels.md``.
"""
