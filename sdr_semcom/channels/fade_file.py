"""``python -m sdr_semcom.channels.fade_file JOBS.json``: fade recorded IQ files through Sionna's channels.

For the benchmarks and tests of the main venv, which cannot import Sionna on Debian 12: they write
their waveforms as ``.npy`` (complex64), list the jobs in a JSON file and read the faded copies
back (:func:`sdr_semcom.channels.launch.fade_offline`). One interpreter start (Sionna's import takes
seconds) serves every job.

Input
-----
JOBS.json : a list of objects with ``in`` and ``out`` (paths), ``model``, ``delay_spread_ns``,
``speed_mps``, ``carrier_frequency_hz`` (:class:`~.spec.FadingSpec`), ``snr_db`` (null: no noise),
``seed``, ``sample_rate``, and optionally ``impairments`` (:class:`~.impairments.Impairments` fields:
the receiver's CFO, clock error, front end) and ``chunk`` (samples per call; the output does not depend on it).

Output
------
Each job's ``out``: the faded samples (complex64, as many as went in, the signal delayed by the
channel's 6 samples; with a clock error or CFO, resampled and rotated: 8 samples more delay, about
``n / (1 + ppm 1e-6)`` samples). Prints one JSON line per job: ``k``, ``delay``, ``cpu_s``.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    from . import single_threaded_blas

    single_threaded_blas()  # before numpy
    import numpy as np

    from .impairments import Impairments
    from .sionna_stream import FadingStream
    from .spec import FadingSpec

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m sdr_semcom.channels.fade_file JOBS.json", file=sys.stderr)
        return 2
    for job in json.loads(open(argv[0]).read()):
        spec = FadingSpec(job["model"], float(job["delay_spread_ns"]), float(job["speed_mps"]),
                          float(job["carrier_frequency_hz"]))
        chan = FadingStream(spec, float(job["sample_rate"]), job.get("snr_db"), int(job["seed"]), job.get("k"),
                            Impairments(**job.get("impairments", {})))
        x = np.load(job["in"]).astype(np.complex64)
        chunk = int(job.get("chunk") or 1 << 16)
        c0 = time.process_time()
        y = np.concatenate([chan.process(x[i: i + chunk]) for i in range(0, max(x.size, 1), chunk)])
        np.save(job["out"], y)
        print(json.dumps({"out": job["out"], "k": chan.k, "delay": chan.delay, "cpu_s": time.process_time() - c0}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
