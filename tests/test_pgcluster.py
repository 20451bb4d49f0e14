"""A PostgreSQL cluster left behind by a killed owner is stopped and removed by the next one."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

from tools.pgcluster import Cluster, sweep_orphans

OWNER = (
    "import sys; from tools.pgcluster import Cluster\n"
    "c = Cluster(); c.start(); print(c.root, c.postmaster_pid(), flush=True); sys.stdin.read()\n"
)


def test_a_cluster_whose_owner_was_killed_is_swept_by_the_next() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    try:
        root_text, pid_text = (owner.stdout.readline() if owner.stdout else "").split()
    finally:
        owner.send_signal(signal.SIGKILL)  # as `kill -9` of the network demo would
        owner.wait(timeout=30)
    root, postmaster = Path(root_text), int(pid_text)
    # Held from before the sweep: readable once the postmaster has exited (a zombie no init
    # reaps counts as exited), whoever stopped it.
    exited = os.pidfd_open(postmaster)
    try:
        assert not select.select([exited], [], [], 0)[0]  # the owner is gone; it still runs
        assert root.is_dir()

        # Another test process making a cluster may sweep it first: either way it is gone.
        sweep_orphans()
        assert not root.exists()
        with Cluster() as mine:  # a live owner's cluster is never swept
            assert mine.root not in sweep_orphans()
            assert mine.postmaster_pid() is not None
        assert select.select([exited], [], [], 30)[0], "the orphaned postmaster still runs"
    finally:
        os.close(exited)
