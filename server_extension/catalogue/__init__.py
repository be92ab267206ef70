"""The catalogue: OMERO's data model in PostgreSQL, its permissions, and the managers over it.

Nothing in this package knows about HTTP or Jupyter; handlers and the command line call it.
"""
