#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py          install into .venv, migrate, load reference data and ECB rates,
                            then serve the site on http://127.0.0.1:8000/
    python3 dev.py test     install into .venv (with the test tools) and run every test;
                            extra arguments go to pytest
    python3 dev.py manage … run a manage.py command inside .venv

DATABASE_URL chooses the database (an SQLite file, db.sqlite3, by default).
"""

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements(with_dev: bool) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["dev"] if with_dev else []
    return [*project["dependencies"], *extra]


def ensure_venv(with_dev: bool) -> None:
    """Create .venv and install the pinned requirements, once per change of pyproject.toml."""
    wanted = requirements(with_dev)
    stamp = VENV / ".installed"
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()
    if stamp.exists() and digest in stamp.read_text().split():
        return
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing pinned requirements into .venv …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, *wanted], check=True)
    # A test install also satisfies a plain install.
    digests = {digest}
    if with_dev:
        plain = requirements(False)
        digests.add(hashlib.sha256("\n".join(plain).encode()).hexdigest())
    stamp.write_text("\n".join(sorted(digests)))


def run(*args: str, env: dict | None = None) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, env=env, check=False).returncode


def local_env() -> dict:
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def serve() -> int:
    ensure_venv(with_dev=False)
    env = local_env()
    for step in (("migrate", "--no-input"), ("load_reference_data", "--if-empty")):
        if run("manage.py", *step, env=env):
            return 1
    print(
        "\nThe site is starting on http://127.0.0.1:8000/ (admin at /admin/, API at /api/v1/).\n"
        "To sign in to the admin, create your own account in another terminal:\n"
        "    python3 dev.py manage createsuperuser\n",
        flush=True,
    )
    return run("manage.py", "runserver", "127.0.0.1:8000", env=env)


def test(pytest_args: list[str]) -> int:
    ensure_venv(with_dev=True)
    env = local_env()
    return run("-m", "pytest", *pytest_args, env=env)


def manage(args: list[str]) -> int:
    ensure_venv(with_dev=False)
    return run("manage.py", *args, env=local_env())


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "serve":
        return serve()
    if argv[0] == "test":
        return test(argv[1:])
    if argv[0] == "manage":
        return manage(argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
