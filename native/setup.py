"""The C extension. It is optional: where it cannot be built (no compiler, no OpenSSL headers)
the package installs without it and Handover hashes with hashlib, the same digests, slower."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "handover_sha256",
            ["handover_sha256.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
