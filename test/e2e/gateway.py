"""Start and stop the real tollgate binary for end-to-end tests.

The binary comes from $TOLLGATE_BINARY (set by CMake/ctest), else
/work/main/build/tollgate. Each Gateway listens on a free loopback port
(--listen 127.0.0.1:0) with its own data directory: a fresh temporary one
unless `data_dir` is given (pass the same directory to a second Gateway to
test a restart). stdout and stderr go to files in a temporary directory (the
gateway writes its access log to stdout, so a pipe nobody reads could fill up
and stall it); they are printed when the gateway fails to start or to stop.

    with Gateway(config=E2E_CONFIG) as gw:
        boto3.client("bedrock", endpoint_url=gw.endpoint, ...)

Stdlib only, so that the AWS CLI suite needs nothing beyond python3.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_BINARY = "/work/main/build/tollgate"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
LISTENING = re.compile(r"tollgate listening on (http://127\.0\.0\.1:(\d+))\b")

# The embedded default principal, spelled out, plus a Bedrock API key for Bearer auth.
ACCESS_KEY = "test"
SECRET_KEY = "test"
ACCOUNT_ID = "123456789012"
API_KEY = "e2e-bearer-token"
E2E_CONFIG = f"""\
principals:
  - access_key_id: {ACCESS_KEY}
    secret_access_key: {SECRET_KEY}
    account_id: "{ACCOUNT_ID}"
api_keys:
  - id: e2e-key
    key: {API_KEY}
    account_id: "{ACCOUNT_ID}"
control_plane_body_bytes: 1048576
"""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the test process dies (Linux), so no gateway is orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def binary_path() -> str:
    path = os.environ.get("TOLLGATE_BINARY") or DEFAULT_BINARY
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"tollgate binary not found or not executable at {path}; build it "
            "(ninja -C build tollgate) or set TOLLGATE_BINARY"
        )
    return path


class GatewayError(RuntimeError):
    pass


class Gateway:
    """One running `tollgate serve` process."""

    def __init__(self, data_dir: str | os.PathLike | None = None, config: str | None = None):
        self._work = Path(tempfile.mkdtemp(prefix="tollgate-e2e-"))
        self.data_dir = Path(data_dir) if data_dir is not None else self._work / "data"
        self._config_text = config
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""
        self.port = 0
        self._stdout_path = self._work / "stdout.log"
        self._stderr_path = self._work / "stderr.log"

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "Gateway":
        args = [binary_path(), "serve", "--listen", "127.0.0.1:0", "--data", str(self.data_dir)]
        if self._config_text is not None:
            config_path = self._work / "tollgate.yaml"
            config_path.write_text(self._config_text)
            args += ["--config", str(config_path)]
        # Truncate the logs so a restart's banner is not confused with the last one.
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            match = LISTENING.search(self.stdout())
            if match:
                self.endpoint, self.port = match.group(1), int(match.group(2))
                return self
            if self.proc.poll() is not None:
                raise GatewayError(
                    f"tollgate exited with status {self.proc.returncode} before listening\n" + self.logs()
                )
            time.sleep(0.02)
        self._kill()
        raise GatewayError(f"tollgate did not print 'listening on' within {START_TIMEOUT_S:.0f} s\n" + self.logs())

    def stop(self) -> int:
        """SIGTERM, wait; returns the exit status (the gateway exits 0 on SIGTERM)."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise GatewayError(f"tollgate did not stop within {STOP_TIMEOUT_S:.0f} s of SIGTERM\n" + self.logs())
        return proc.returncode

    def stop_and_close(self) -> None:
        """Stops the gateway, requiring a clean exit (status 0) on SIGTERM, and removes its files."""
        try:
            status = self.stop()
            if status != 0:
                raise AssertionError(f"tollgate exited with status {status} on SIGTERM\n" + self.logs())
        finally:
            self.close()

    def close(self) -> None:
        """Stops the gateway if it still runs and removes its temporary files."""
        self._kill()
        shutil.rmtree(self._work, ignore_errors=True)

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> "Gateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            self.close()

    # -- diagnostics -----------------------------------------------------
    def stdout(self) -> str:
        try:
            return self._stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def logs(self) -> str:
        return f"--- tollgate stdout ---\n{self.stdout()}--- tollgate stderr ---\n{self.stderr()}"
