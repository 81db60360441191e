"""Which codec the link uses, and where the weights live: light (no torch), for the CLI and recordings."""

from pathlib import Path

#: Directory of the committed weights and manifests.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
#: The codec the link uses unless told otherwise (codec v4: v3 with a better entropy coder, see docs/codecs.md).
DEFAULT_NAME = "codec_v4"
