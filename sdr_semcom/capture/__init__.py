"""IQ recordings of the link as SigMF files: capture sessions and offline decoding.

- :mod:`~sdr_semcom.capture.sigmf_io`: :class:`SigmfWriter` (samples written as they come, the
  metadata rewritten on every checkpoint and at the end) and :func:`open_recording` (a checked
  reader: datatype, sample rate, truncation);
- :mod:`~sdr_semcom.capture.session`: ``sdr-semcom capture`` (ZeroMQ, the in-process loopback, a
  hook for radio front ends), annotating every burst the receiver finds on the fly;
- :mod:`~sdr_semcom.capture.decode`: ``sdr-semcom decode``, a recording through the same receiver
  and report writer as a live ``rx``.
"""
