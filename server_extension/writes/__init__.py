"""Images written from a client (``B/writes``): chunks streamed in, committed as an import job."""
