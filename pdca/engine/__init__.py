"""The workflow engine: pure Python over `transitions`; no database, no HTTP."""
