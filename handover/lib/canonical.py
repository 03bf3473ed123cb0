import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class CanonicalJSONEncoder(json.JSONEncoder):
    """``canonical_json`` as a JSONField's encoder: the column holds the text the body holds."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        super().__init__(**kwargs)


def json_sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()
