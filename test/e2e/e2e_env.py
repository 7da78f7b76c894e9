"""Environment isolation shared by the python end-to-end suites.

The user's AWS configuration must not leak into a test: profiles, regions,
endpoint overrides, a bearer token or retry settings in ~/.aws or in the
environment would change what the clients send. `isolated_aws_env()` returns a
copy of the environment without any AWS_* variable, with empty config and
credentials files, no instance-metadata lookups and a single attempt per call.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from gateway import ACCESS_KEY, SECRET_KEY

_scratch = tempfile.mkdtemp(prefix="tollgate-e2e-aws-")
atexit.register(shutil.rmtree, _scratch, True)
EMPTY_CONFIG = os.path.join(_scratch, "config")
EMPTY_CREDENTIALS = os.path.join(_scratch, "credentials")
for _path in (EMPTY_CONFIG, EMPTY_CREDENTIALS):
    open(_path, "w").close()


def isolated_aws_env(region: str = "us-east-1", base: dict | None = None) -> dict:
    env = {k: v for k, v in (base if base is not None else os.environ).items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=EMPTY_CONFIG,
        AWS_SHARED_CREDENTIALS_FILE=EMPTY_CREDENTIALS,
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def isolate_this_process(region: str = "us-east-1") -> None:
    """Applies isolated_aws_env() to os.environ (for in-process boto3)."""
    env = isolated_aws_env(region)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
