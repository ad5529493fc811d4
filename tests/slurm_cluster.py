"""A private single-node Slurm cluster on localhost for tests: munged, slurmctld and slurmd from
Debian's packages, with config, state, logs, pid files and the munge socket in one temp dir.

Cgroup-free plugins (proctrack/linuxproc, task/none) and no accounting, so it runs in a
container without systemd. The daemons run in the foreground as children of the test process,
so each is stopped by its own pid and reaped; nothing system-wide (/etc/slurm, /run/munge,
the default ports) is touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CLIENT_TOOLS = ("srun", "sbatch", "squeue", "sinfo", "scontrol", "scancel")
BINARIES = ("munged", "slurmctld", "slurmd", *CLIENT_TOOLS)


def unavailable_reason() -> str | None:
    """Return why a private Slurm cannot be started here, or None when it can be tried."""
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        return f"Slurm/munge binaries missing ({', '.join(missing)}); run .ci/install-slurm as root"
    if os.geteuid() != 0:
        return "a private Slurm needs root (slurmd runs jobs as their submitting user via setuid)"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "the 'munge' user is missing (the munge package creates it)"
    return None


def free_port() -> int:
    """Return a TCP port that is free on localhost right now."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def node_line() -> str:
    """Return this host's Slurm node definition as `slurmd -C` measures it (CPUs, memory...)."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True, timeout=30).stdout
    return out.splitlines()[0].strip()


@dataclass
class SlurmCluster:
    """One private Slurm cluster rooted in `root`; start() brings it up, stop() takes it down."""

    root: Path
    cluster_name: str = "edgebench"
    partition: str = "debug"
    features: str | None = None  # node features (comma-separated) that jobs may --constraint on
    pids: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    @property
    def conf(self) -> Path:
        """Return the path of this cluster's slurm.conf."""
        return self.root / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        """Return the path of this cluster's munge socket."""
        return self.root / "munge" / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """Return the environment that points Slurm's client tools at this cluster."""
        path = f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def write_client_wrappers(self) -> None:
        """Write bin/<tool> wrappers that run the real Slurm client tools against this cluster.

        Inside a job, the executor plugin's jobstep drops every SLURM_* variable (SLURM_CONF
        too) before its nested `srun`, which then looks for /etc/slurm/slurm.conf. A real
        cluster keeps its config there; this private one must not, so the job's PATH (jobs
        inherit the submitting environment) leads to these wrappers instead.
        """
        bin_dir = self.root / "bin"
        bin_dir.mkdir(exist_ok=True)
        for tool in CLIENT_TOOLS:
            wrapper = bin_dir / tool
            wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {shutil.which(tool)} "$@"\n')
            wrapper.chmod(0o755)

    def write_config(self) -> None:
        """Write slurm.conf and the munge key under root, with the ownership the daemons demand."""
        for sub in ("run", "log", "state", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.write_client_wrappers()
        munge = pwd.getpwnam("munge")
        munge_dir = self.root / "munge"
        munge_dir.mkdir(exist_ok=True)
        # munged refuses a socket directory it cannot write or that is mode 0700 (needs 0755),
        # and a key that others could read.
        os.chown(munge_dir, munge.pw_uid, munge.pw_gid)
        munge_dir.chmod(0o755)
        key = munge_dir / "munge.key"
        key.write_bytes(os.urandom(128))
        os.chown(key, munge.pw_uid, munge.pw_gid)
        key.chmod(0o600)
        host = socket.gethostname().split(".")[0]
        self.conf.write_text(
            "\n".join(
                [
                    f"ClusterName={self.cluster_name}",
                    f"SlurmctldHost={host}",
                    f"SlurmctldPort={free_port()}",
                    f"SlurmdPort={free_port()}",
                    "SlurmUser=root",
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    "CredType=cred/munge",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core",
                    # No cgroups in a container without systemd: track and launch tasks plainly.
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    # Finished jobs stay visible to squeue/scontrol for 10 minutes: the only job
                    # history without accounting, and what the executor plugin's squeue status
                    # checks need (MinJobAge >= 3x its first status delay).
                    "MinJobAge=600",
                    "MailProg=/bin/true",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.root / 'run' / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'run' / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.root / 'log' / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.root / 'log' / 'slurmd.log'}",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    f"{node_line()}{f' Features={self.features}' if self.features else ''} State=UNKNOWN",
                    f"PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    def start(self, timeout_s: float = 60) -> None:
        """Start munged, slurmctld and slurmd and wait until the node is idle; raise on failure."""
        self.write_config()
        munge_files = self.root / "munge"
        # Each daemon runs in the foreground as this process's child: its pid is known exactly,
        # and stop() can reap it instead of leaving a zombie for an init that may not reap.
        self._daemon(
            "munged",
            ["munged", "--foreground", f"--socket={self.munge_socket}",
             f"--key-file={munge_files / 'munge.key'}", f"--log-file={munge_files / 'munged.log'}",
             f"--pid-file={munge_files / 'munged.pid'}", f"--seed-file={munge_files / 'munged.seed'}"],
            user="munge",
        )
        self._wait(self.munge_socket.exists, 10)
        self._daemon("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        self._daemon("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            state = self.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"the private Slurm node is {state or 'not reported'!r}, not idle, after "
                           f"{timeout_s:.0f} s\n{self.logs_tail()}")

    def _daemon(self, name: str, command: list[str], user: str | None = None) -> None:
        """Start one daemon in the foreground as a child process and record it; raise if it dies at once."""
        log = (self.root / "log" / f"{name}.stderr").open("w")
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=self.env, user=user, start_new_session=True)
        log.close()
        self.processes[name] = process
        self.pids[name] = process.pid
        time.sleep(0.3)
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at once with status {process.returncode}\n{self.logs_tail()}")

    def run(self, *command: str, check: bool = True, timeout_s: float = 30) -> subprocess.CompletedProcess:
        """Run one Slurm client command against this cluster and return its result."""
        return subprocess.run(list(command), capture_output=True, text=True, env=self.env,
                              check=check, timeout=timeout_s)

    def jobs(self) -> list[dict[str, str]]:
        """Return every job slurmctld still remembers (MinJobAge), as `scontrol show job` fields."""
        out = self.run("scontrol", "show", "job", "--oneliner").stdout
        records = []
        for line in out.splitlines():
            if not line.startswith("JobId="):
                continue
            record = {}
            for token in line.split():
                key, sep, value = token.partition("=")
                if sep:
                    record[key] = value
            records.append(record)
        return records

    def logs_tail(self, lines: int = 15) -> str:
        """Return the last lines of each daemon log, for error messages."""
        parts = []
        for log in (self.root / "munge" / "munged.log", self.root / "log" / "slurmctld.log",
                    self.root / "log" / "slurmd.log"):
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self, timeout_s: float = 20) -> list[str]:
        """Cancel leftover jobs, stop each daemon started here by its pid; return what needed SIGKILL."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            # Jobs left by a failed or killed test would outlive the daemons otherwise.
            self.run("scancel", "--full", f"--partition={self.partition}", check=False)
            self._wait(lambda: not self.run("squeue", "-h", check=False).stdout.strip(), 10)
        killed = []
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(5)
                killed.append(name)
        return killed

    @staticmethod
    def _wait(condition, timeout_s: float) -> bool:
        """Return True once condition() holds, False if timeout_s passes first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return False


def make_root() -> Path:
    """Return a fresh directory for a cluster, readable by the munge user (pytest's tmp is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="edgebench-slurm-"))
    root.chmod(0o755)
    return root
