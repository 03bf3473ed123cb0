"""What ``handover verify`` prints, and ``python -m handover.records.verify BUNDLE``: the check
of a bundle without Django."""

import argparse
import base64
import binascii
import re

from handover.records.verify.bundle import verify_bundle
from handover.records.verify.checks import Report


def report_lines(report: Report, *, every: bool = False) -> list[str]:
    """What the command prints: OK with a summary, or the first failure (or all of them)."""
    if report.ok and report.order_id is None:
        return [
            f"OK: {report.events} events, {report.tree_size} leaves, {report.heads} signed tree "
            f"heads, key {report.key_id}"
        ]
    if report.ok:
        withheld = (
            f" ({report.withheld} withheld from this reader: their hashes checked in the chain "
            "and the tree)"
            if report.withheld
            else ""
        )
        return [
            f"OK: order {report.order_id}, {report.events} events{withheld} in the signed tree "
            f"head of size {report.tree_size}, key {report.key_id}"
        ]
    shown = report.failures if every else report.failures[:1]
    lines = [f"FAILED {failure}" for failure in shown]
    if not every and len(report.failures) > 1:
        lines.append(f"({len(report.failures) - 1} more; -v 2 lists them all)")
    return lines


def parse_key(value: str) -> tuple[bytes | None, str | None]:
    """``--key``: a key id (16 hex digits) or the raw public key in base64."""
    if re.fullmatch(r"[0-9a-f]{16}", value):
        return None, value
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("--key is a key id (16 hex digits) or a base64 Ed25519 public key")
    return raw, None


def main(argv: list[str] | None = None) -> int:
    """``python -m handover.records.verify BUNDLE [--key KEY] [--all]``, without Django."""
    parser = argparse.ArgumentParser(description="Check an order's evidence bundle offline.")
    parser.add_argument("bundle")
    parser.add_argument("--key", help="the deployment's key id or base64 public key")
    parser.add_argument("--all", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    try:
        raw, expected_id = parse_key(args.key) if args.key else (None, None)
    except ValueError as error:
        parser.error(str(error))
    report = verify_bundle(args.bundle, raw, expected_key_id=expected_id)
    print("\n".join(report_lines(report, every=args.all)))
    return 0 if report.ok else 1
