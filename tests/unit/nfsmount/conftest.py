"""The nfsmount package lives in the image's folder, not in labgen: put it on the path."""

import sys
from pathlib import Path

NFSMOUNT_DIR = Path(__file__).resolve().parents[3] / "images" / "jenkins" / "nfsmount"
if str(NFSMOUNT_DIR) not in sys.path:
    sys.path.insert(0, str(NFSMOUNT_DIR))
