"""The home check package lives in the image's folder, not in labgen: put it on the path."""

import sys
from pathlib import Path

HOMECHECK_DIR = Path(__file__).resolve().parents[3] / "images" / "jenkins" / "homecheck"
if str(HOMECHECK_DIR) not in sys.path:
    sys.path.insert(0, str(HOMECHECK_DIR))
