"""Tests of scopehub.server_extension.catalogue."""
