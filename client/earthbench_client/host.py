"""``earthbench host ...``: hosts create and update benchmarks from a bundle ZIP.

    earthbench host create BUNDLE.zip           # unpublished; prints the validation report
    earthbench host update SLUG BUNDLE.zip      # in place, or a new version -vN+1
    earthbench host publish SLUG | unpublish SLUG
    earthbench host edit SLUG --set daily_quota=3 --set deadline=2031-01-01T00:00:00Z
    earthbench host rescore SLUG                # previous version's submissions → SLUG

Bundles go through the resumable chunked upload (``/api/v1/uploads/``): a rerun of
an interrupted command resumes from the server's offset. Exit codes as elsewhere:
2 for a refused bundle (the message names file, field and line), 3 for server or
network trouble.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from earthbench_client.errors import EXIT_OK, UsageError
from earthbench_client.formatting import dump_json
from earthbench_client.http import UPLOAD_TIMEOUT
from earthbench_client.idempotency import file_sha256
from earthbench_client.progress import Progress, human_bytes
from earthbench_client.resume import UploadState, state_path
from earthbench_client.uploads import (
    DEFAULT_CHUNK_SIZE,
    ChunkedOptions,
    UploadRequest,
    UploadResult,
    _Chunked,
)

BASE = "/api/v1/host/benchmarks/"


def add_parser(sub, common: argparse.ArgumentParser, chunk_size) -> None:
    # Options go after the action (`host create --url U B.zip`): a parent parser here
    # would have its values overwritten by the action's defaults.
    host = sub.add_parser("host", help="host benchmarks (bundles)")
    hsub = host.add_subparsers(dest="host_command", required=True, metavar="ACTION")
    p = hsub.add_parser("create", parents=[common], help="create a benchmark from a bundle")
    p.add_argument("bundle", metavar="BUNDLE.zip", type=Path)
    _upload_options(p, chunk_size)
    p = hsub.add_parser("update", parents=[common], help="update a benchmark from a bundle")
    p.add_argument("slug", metavar="SLUG")
    p.add_argument("bundle", metavar="BUNDLE.zip", type=Path)
    _upload_options(p, chunk_size)
    for name in ("publish", "unpublish", "show", "rescore"):
        p = hsub.add_parser(name, parents=[common], help=f"{name} a hosted benchmark")
        p.add_argument("slug", metavar="SLUG")
        p.add_argument("--json", action="store_true")
    p = hsub.add_parser("edit", parents=[common], help="edit fields of a hosted benchmark")
    p.add_argument("slug", metavar="SLUG")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a field to change; VALUE is JSON when it parses, else text")
    p.add_argument("--json", action="store_true")


def _upload_options(p, chunk_size) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--chunk-size", type=chunk_size, default=DEFAULT_CHUNK_SIZE, metavar="SIZE")


class _BundleUpload(_Chunked):
    """The chunked upload, finished by a host endpoint instead of a submission."""

    target = BASE

    def _submit(self, upload_id: str) -> UploadResult:
        response = self.client.request(
            "POST", self.target, files={"upload": (None, upload_id)}, timeout=UPLOAD_TIMEOUT
        )
        return UploadResult(submission=response.json(), created=response.status_code == 201,
                            max_read=self.max_read, upload_id=upload_id)


def _send_bundle(ctx, path: Path, target: str) -> UploadResult:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise UsageError(f"{path}: the file is empty")
    ctx.info(f"uploading {path.name} ({human_bytes(size)})")
    progress = Progress("upload", size, stream=ctx.err, enabled=not ctx.args.quiet)
    abort = (ctx.env.get("EARTHBENCH_TEST_ABORT_AFTER_CHUNKS") or "").strip()
    options = ChunkedOptions(
        chunk_size=ctx.args.chunk_size,
        state=UploadState(state_path(ctx.env), log=ctx.info),
        # Test hook shared with `submit` (docs/cli.md): stop after N chunks.
        abort_after_chunks=int(abort) if abort.isdigit() and int(abort) > 0 else None,
        log=ctx.api.client.log,
    )
    # ``benchmark`` is unused by the host endpoints; the request type is shared.
    req = UploadRequest(benchmark="", path=path, filename=path.name)
    job = _BundleUpload(ctx.api.client, req, file_sha256(path), options, progress)
    job.target = target
    return job.run()


def _report_lines(body: dict) -> list[str]:
    rep = body.get("report") or {}
    state = "published" if body.get("is_published") else "unpublished"
    lines = [f"{rep.get('action', 'benchmark')} {body.get('slug')} ({state})"]
    if rep.get("reasons"):
        lines.append(f"  new version of {rep.get('previous')}: {rep['reasons']}")
    splits = rep.get("splits") or {}
    if splits:
        lines.append(f"  {rep.get('n_samples')} test samples: public {splits.get('public')}, "
                     f"private {splits.get('private')} ({splits.get('source')})")
    for label in ("baseline", "sample_submission"):
        part = rep.get(label) or {}
        for split, metrics in (part.get("scores") or {}).items():
            shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if v is not None)
            lines.append(f"  {label} ({part.get('file')}) {split}: {shown}")
    if rep.get("changed") is not None:
        lines.append(f"  changed: {', '.join(rep['changed']) or 'nothing but files'}")
    if not body.get("is_published"):
        lines.append(f"  publish with: earthbench host publish {body.get('slug')}")
    return lines


def _print(ctx, body: dict) -> int:
    if ctx.args.json:
        dump_json(body, ctx.out)
    else:
        ctx.out.write("\n".join(_report_lines(body)) + "\n")
    return EXIT_OK


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_host(ctx) -> int:
    a = ctx.args
    client = ctx.api.client
    action = a.host_command
    if action == "create":
        return _print(ctx, _send_bundle(ctx, a.bundle, BASE).submission)
    if action == "update":
        return _print(ctx, _send_bundle(ctx, a.bundle, f"{BASE}{a.slug}/bundle/").submission)
    if action in ("publish", "unpublish"):
        return _print(ctx, client.post_json(f"{BASE}{a.slug}/{action}/"))
    if action == "show":
        body = client.get_json(f"{BASE}{a.slug}/")
        if a.json:
            dump_json(body, ctx.out)
            return EXIT_OK
        lines = _report_lines(body)
        for c in body.get("changes", []):
            lines.append(f"  {c['at']} {c['user']}: {c['action']} {c['field']} "
                         f"{c['old']!r} → {c['new']!r} {c['note']}".rstrip())
        ctx.out.write("\n".join(lines) + "\n")
        return EXIT_OK
    if action == "rescore":
        body = client.post_json(f"{BASE}{a.slug}/rescore-previous/")
        if a.json:
            dump_json(body, ctx.out)
        else:
            ctx.out.write(f"{body['queued']} submission(s) queued on {a.slug}\n")
        return EXIT_OK
    if action == "edit":
        changes = {}
        for item in a.set:
            field, sep, value = item.partition("=")
            if not sep or not field:
                raise UsageError(f"--set {item!r}: expected FIELD=VALUE")
            changes[field] = _value(value)
        if not changes:
            raise UsageError("nothing to change: pass --set FIELD=VALUE")
        body = client.request("PATCH", f"{BASE}{a.slug}/", json=changes).json()
        if a.json:
            dump_json(body, ctx.out)
        else:
            ctx.out.write(f"changed on {a.slug}: {', '.join(body.get('changed', [])) or 'nothing'}\n")
        return EXIT_OK
    raise UsageError(f"unknown host action {action!r}")
