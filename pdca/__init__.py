"""pdca: a continuous-improvement workflow engine for service-quality teams."""

__version__ = "0.1.0"
