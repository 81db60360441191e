"""Channel models that run outside GNU Radio: 3GPP fading from Sionna as a streaming channel process.

Nothing here imports GNU Radio, numba or the PHY: :mod:`.sionna_proc` runs under a separate
interpreter (``.venv-sionna``, numpy 2) and needs only pyzmq, numpy, torch and Sionna.
:mod:`.spec` (pure Python) is shared with the main venv's config and CLI.
"""
