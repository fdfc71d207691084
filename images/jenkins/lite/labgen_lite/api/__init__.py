"""The URLs a master answers, grouped by area; `routes` maps a path to its handler and permission."""
