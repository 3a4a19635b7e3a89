"""HTTP: the JSON API and the server-rendered pages, both calling pdca.services."""
