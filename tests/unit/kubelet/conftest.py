"""Unit tests of the kubelet: pure functions and components over the fake runtime."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
