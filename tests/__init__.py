"""scopehub tests; a package so helpers import as tests.postgres and tests.jupyter."""
