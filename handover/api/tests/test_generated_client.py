"""A client generated from the served OpenAPI document by openapi-python-client plays the
README's example order against a running server: the document is one a client can use."""

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client as DjangoClient

GENERATOR = shutil.which("openapi-python-client") or str(
    Path(sys.executable).with_name("openapi-python-client")
)


@pytest.fixture
def generated(tmp_path, monkeypatch):
    """The client's package, generated into a temporary folder and imported."""
    document = DjangoClient().get("/api/v1/openapi.json").json()
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    command = ["generate", "--path", "openapi.json", "--output-path", "handover_client"]
    subprocess.run(
        [GENERATOR, *command, "--meta", "none"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("handover_client")]:
        del sys.modules[name]
    return importlib.import_module("handover_client")


def _call(module_path: str, name: str):
    return importlib.import_module(f"handover_client.api.{module_path}.{name}")


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_plays_the_readmes_order(generated, live_server):
    from handover_client.models import (  # type: ignore[import-not-found]
        CredentialsIn,
        ErrorOut,
        OfferIn,
        OrderIn,
        UserIn,
    )
    from handover_client.types import File  # type: ignore[import-not-found]

    anonymous = generated.Client(base_url=live_server.url)
    tokens = {}
    for name in ("sofia", "ben"):
        password = f"{name}-secret-42"
        user = _call("accounts", "create_user").sync(
            client=anonymous,
            body=UserIn(username=name, email=f"{name}@example.com", password=password),
        )
        assert user.username == name
        # Each confirms the address with the link the sign-up sent, before ordering or selling.
        [sent] = [m for m in mail.outbox if m.to == [f"{name}@example.com"]]
        link = re.search(r"https?://\S+", str(sent.body))
        assert link is not None, sent.body
        parts = urlsplit(link.group(0))
        assert DjangoClient().get(f"{parts.path}?{parts.query}").status_code == 302
        token = _call("accounts", "create_token").sync(
            client=anonymous, body=CredentialsIn(username=name, password=password)
        )
        tokens[name] = token.token
    sofia = generated.AuthenticatedClient(base_url=live_server.url, token=tokens["sofia"])
    ben = generated.AuthenticatedClient(base_url=live_server.url, token=tokens["ben"])

    offer = _call("offers", "create_offer").sync(
        client=sofia,
        body=OfferIn(
            title="Logo design",
            price=12000,
            currency="EUR",
            delivery_days=3,
            revisions=1,
            terms="Licence on completion.",
            requirements=["Company name?"],
        ),
    )
    order = _call("orders", "create_order").sync(
        client=ben, body=OrderIn(offer_id=offer.id, answers=["Acme"])
    )
    paid = _call("orders", "pay").sync(order.id, client=ben)
    assert (paid.state, paid.total) == ("in_progress", 12660)

    form = _call("delivery", "create_delivery")
    body_class = next(getattr(form, n) for n in dir(form) if n.endswith("MultiPartBodyParams"))
    delivery = form.sync(
        order.id,
        client=sofia,
        body=body_class(
            text="Here it is",
            files=[File(payload=b"the logo\n", file_name="logo.txt", mime_type="text/plain")],
        ),
    )
    assert delivery.text == "Here it is"
    file_id = delivery.files[0].id

    refused = _call("delivery", "download_original").sync_detailed(file_id, client=ben)
    assert refused.status_code == 403
    assert isinstance(refused.parsed, ErrorOut) and refused.parsed.error == "originals_locked"

    accepted = _call("orders", "accept").sync(order.id, client=ben)
    assert accepted.state == "completed"
    original = _call("delivery", "download_original").sync_detailed(file_id, client=ben)
    assert original.status_code == 200 and original.content == b"the logo\n"
