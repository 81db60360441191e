"""Evaluation, kept out of the product packages: ``sdr-semcom eval`` and the scoring the tests share.

One module per concern: :mod:`.quality` (PSNR, SSIM, MS-SSIM, ST-LPIPS, whole and inside masks),
:mod:`.identity` (SFace and dlib judges, computed floors, top-1 re-identification), :mod:`.utility`
(YuNet detections on the reconstruction), :mod:`.baselines` (no privacy, blur, pixelation, grey box),
:mod:`.attacks` (the eavesdropper's fills and its reading of the sealed message), :mod:`.stats`
(bootstrap CIs), :mod:`.run` (the sweep, rows to JSONL, resume) and :mod:`.report` (claims table,
CSV, plots, the mosaic at the headline SNR from :mod:`.recon`, the reconstructions kept per SNR point); see ``docs/eval.md``. :func:`~sdr_semcom.eval.truth.face_truth` and
:func:`~sdr_semcom.eval.scoring.match_faces` serve the guard's tests and ``benchmarks/guard_bench.py``.
"""
