"""scopehub: an OMERO-style bioimage data platform for JupyterLab and JupyterHub."""

__version__ = "0.1.0"
