"""The interleaver both codecs use to spread an image's grid cells over its packets.

Cell ``p`` (of ``n_cells``, raster order) goes to packet ``perm[p] % n_packets``, ``perm`` a
fixed pseudorandom permutation: a lost packet leaves holes scattered over the whole image,
each surrounded by cells that arrived, which is what the decoders are trained to fill.
Transmitter and receiver compute the same assignment from the header alone.
"""

from __future__ import annotations

import numpy as np

SEED = 20250908  # part of the wire format: changing it scrambles every image between versions


def packet_cells(n_cells: int, n_packets: int) -> list[np.ndarray]:
    """Cell indices (sorted) that each of the ``n_packets`` packets carries.

    Parameters
    ----------
    n_cells : int
        Cells of the image's grid (latent positions or MCUs).
    n_packets : int
        Packets the image is cut into.

    Output
    ------
    list of ndarray
        ``n_packets`` int arrays that together hold every cell once.
    """
    perm = np.random.default_rng(SEED).permutation(n_cells)
    return [np.sort(np.nonzero(perm % n_packets == k)[0]) for k in range(n_packets)]
