"""The JSON API v1: thin routes that parse, call one service, and shape the answer."""
