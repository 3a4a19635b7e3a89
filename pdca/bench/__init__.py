"""`pdca bench`: a synthetic organisation, and every figure beside its floor from the same run.

- org.py      builds the organisation (services for the few, SQLAlchemy Core for the many)
- server.py   the real app in a subprocess, plus bench-only routes (bare endpoint, template floor)
- client.py   keep-alive HTTP requests, timed one by one or as a bounded load loop
- figures.py  rows (figure, floor, ratio, target, verdict), the table and the JSON
- run.py      presets, the throwaway database, and the order of the measurements
"""
