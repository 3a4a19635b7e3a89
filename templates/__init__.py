"""Jinja2 templates; installed as pdca.templates and read through importlib.resources."""
