"""The ``vaelab`` console command: the trained models applied to a user's own files (main.py
parses, tiles.py and sample.py call the same library code as the stages)."""
