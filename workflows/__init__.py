"""The shipped workflow definitions (YAML); installed as pdca.workflows."""
