"""The offline demo (`make demo`, `python -m reader.demo`): a small fictional world served on 127.0.0.1.

Five outlets with article pages, a notification endpoint, a throwaway data
dir, one real ingest (so full text, search and alert rules all run for real),
then the TUI. Nothing in the reader imports this package.
"""
