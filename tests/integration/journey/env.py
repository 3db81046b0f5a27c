"""The journey's stack: compose.yaml plus the test-only PDS override (tests/integration/pds/compose.yaml).

The reference PDS and a PLC directory run in the platform container's network namespace: the PDS's issuer
``http://localhost:$E2E_PDS_PORT`` is then one URL for the browser (the port is published on 127.0.0.1) and for
the platform (its own loopback), which is what an ATProto loopback client on ``DOMAIN=localhost`` needs.
Everything the override adds lives in the compose project, so ``down --volumes`` removes it with the rest.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from tests.integration.stack import Stack, running_stack
from tests.support.pds import ReferencePds
from tests.support.pds_image import ensure_pds_image
from tests.support.servers import free_port

PDS_OVERRIDE = "tests/integration/pds/compose.yaml"
PLC_PORT = 2582  # inside the platform's namespace only: never published


@contextmanager
def journey_stack() -> Iterator[tuple[Stack, ReferencePds]]:
    image = ensure_pds_image()
    pds_port = free_port()
    admin_password = secrets.token_hex(16)
    env = {
        "E2E_PDS_IMAGE": image,
        "E2E_PDS_PORT": str(pds_port),
        "E2E_PLC_PORT": str(PLC_PORT),
        "E2E_PDS_JWT_SECRET": secrets.token_hex(16),
        "E2E_PDS_ADMIN_PASSWORD": admin_password,
        "E2E_PDS_ROTATION_KEY": secrets.token_hex(32),
    }
    with running_stack(extra_env=env, files=("compose.yaml", PDS_OVERRIDE)) as stack:
        pds = ReferencePds(
            url=f"http://localhost:{pds_port}",
            plc_url=f"http://127.0.0.1:{PLC_PORT}",  # as the PDS and the platform see it
            port=pds_port,
            admin_password=admin_password,
        )
        yield stack, pds
