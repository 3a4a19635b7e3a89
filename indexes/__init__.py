"""The shipped composite index definitions (YAML); installed as pdca.indexes."""
