"""``[core] hostname_callable`` for the Celery end-to-end cluster: each component reports its own name.

In the compose topology every component is a container with a host name of its own; here all run on one
machine, so each gets a name (``worker-1``, ``triggerer-2``) through ``E2E_COMPONENT_HOSTNAME``. Task
instances and triggerer jobs record it, which is how the tests tell which worker ran a task.
"""

from __future__ import annotations

import os
import socket

HOSTNAME_VARIABLE = "E2E_COMPONENT_HOSTNAME"


def component_hostname() -> str:
    return os.environ.get(HOSTNAME_VARIABLE) or socket.getfqdn()
