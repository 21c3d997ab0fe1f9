#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py          install into .venv, migrate, load reference data and ECB rates,
                            then serve the site on http://127.0.0.1:8000/
    python3 dev.py test     install into .venv (with the test tools) and run every test;
                            extra arguments go to pytest
    python3 dev.py manage … run a manage.py command inside .venv
    python3 dev.py lock     rewrite the lock files from pyproject.toml (keeping the versions
                            they already pin); --upgrade takes the newest versions allowed;
                            --check only says whether they are up to date

The installs come from the lock files requirements/base.txt (to run the site) and
requirements/dev.txt (with the test tools): every package, transitive ones too, pinned with
its hashes, installed with pip --require-hashes.

DATABASE_URL chooses the database (an SQLite file, db.sqlite3, by default).
"""

import filecmp
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


LOCKS = {False: ROOT / "requirements" / "base.txt", True: ROOT / "requirements" / "dev.txt"}


def missing_from_lock(with_dev: bool) -> list[str]:
    """The pins of pyproject.toml that the lock file does not hold (it was not rewritten)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"] * with_dev]
    locked = LOCKS[with_dev].read_text().lower()
    missing = []
    for requirement in wanted:
        name, version = requirement.split("==")
        name = name.split("[")[0].strip().lower().replace("_", "-").replace(".", "-")
        if f"\n{name}=={version.strip()}" not in locked:
            missing.append(requirement)
    return missing


def ensure_venv(with_dev: bool) -> None:
    """Create .venv and install the locked requirements, once per change of the lock file."""
    lock = LOCKS[with_dev]
    missing = missing_from_lock(with_dev)
    if missing:
        sys.exit(f"{lock.relative_to(ROOT)} lacks {', '.join(missing)}: run python3 dev.py lock")
    stamp = VENV / ".installed"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and digest in stamp.read_text().split():
        return
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing {lock.relative_to(ROOT)} into .venv …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--require-hashes", "-r", str(lock)], check=True)
    # A test install also satisfies a plain install.
    digests = {digest}
    if with_dev:
        digests.add(hashlib.sha256(LOCKS[False].read_bytes()).hexdigest())
    stamp.write_text("\n".join(sorted(digests)))


def compile_lock(uv: Path, with_dev: bool, output: Path, upgrade: bool) -> None:
    command = [str(uv), "pip", "compile", "pyproject.toml", "--quiet", "--generate-hashes"]
    command += ["--universal", "--python-version", "3.11", "--output-file", str(output)]
    command += ["--custom-compile-command", "python3 dev.py lock"]
    command += ["--extra", "dev"] if with_dev else []
    command += ["--upgrade"] if upgrade else []
    subprocess.run(command, cwd=ROOT, check=True)


def lock(args: list[str]) -> int:
    """Rewrite (or with --check, compare) the lock files, with the uv that pyproject pins."""
    if not PYTHON.exists():  # the locks are not needed to write them
        venv.EnvBuilder(with_pip=True).create(VENV)
    dev_tools = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned_uv = next(r for r in dev_tools["optional-dependencies"]["dev"] if r.startswith("uv=="))
    uv = VENV / "bin" / "uv"
    if run("-m", "pip", "install", "-q", "--disable-pip-version-check", pinned_uv):
        return 1
    if "--check" not in args:
        for with_dev, path in LOCKS.items():
            compile_lock(uv, with_dev, path, upgrade="--upgrade" in args)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        stale = []
        for with_dev, path in LOCKS.items():
            fresh = Path(scratch) / path.name
            shutil.copy(path, fresh)
            compile_lock(uv, with_dev, fresh, upgrade=False)
            if not filecmp.cmp(path, fresh, shallow=False):
                stale.append(path.name)
    if stale:
        print(f"Out of date with pyproject.toml: {', '.join(stale)}; run python3 dev.py lock")
        return 1
    return 0


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
    if argv[0] == "lock":
        return lock(argv[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
