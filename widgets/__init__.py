"""Notebook client and widgets for scopehub. Not implemented yet: see the open issues."""
