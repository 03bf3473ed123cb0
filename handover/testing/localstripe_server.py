"""Runs localstripe (a stateful fake of Stripe's API, from PyPI) on 127.0.0.1 only:
``python -m handover.testing.localstripe_server PORT``. Its own command binds every address."""

import sys

from aiohttp import web
from localstripe.server import app

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
