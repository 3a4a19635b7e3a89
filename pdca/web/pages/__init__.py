"""Server-rendered pages (Jinja2 + htmx). Each works without JavaScript."""
