import pathlib
import sys

# The image runs `main:app` from /app; the tests import it the same way.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
