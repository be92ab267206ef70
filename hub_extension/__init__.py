"""The scopehub JupyterHub service (hub mode). Not implemented yet: see the open issues."""
