"""Cross-app infrastructure that belongs to no single app (the lowest layer: imports no app)."""
