"""What a run leaves on disk: its directory and manifest, its output files, its checkpoints."""
