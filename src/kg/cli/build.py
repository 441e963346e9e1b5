"""kg corpus import, kg build."""
from __future__ import annotations

COMMANDS: list = []
