#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py [serve] [PORT]
                            install into .venv, migrate, load reference data and ECB rates,
                            then serve the site on http://127.0.0.1:PORT/ (default 8000;
                            also --port PORT or the PORT environment variable)
    python3 dev.py test     install into .venv (with the test tools) and run every test in
                            parallel workers; extra arguments go to pytest (-n 0: one process)
    python3 dev.py manage … run a manage.py command inside .venv
    python3 dev.py lock     rewrite the lock files from pyproject.toml (keeping the versions
                            they already pin); --upgrade takes the newest versions allowed;
                            --check only says whether they are up to date

The installs come from the lock files requirements/base.txt (to run the site) and
requirements/dev.txt (with the test tools): every package, transitive ones too, pinned with
its hashes, installed with pip --require-hashes.

DATABASE_URL chooses the database (an SQLite file, db.sqlite3, by default).
"""

import argparse
import errno
import filecmp
import hashlib
import os
import shutil
import socket
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


HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def port_number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


def serve_port(args: list[str]) -> int:
    """The port of ``dev.py serve [PORT] [--port PORT]``, else $PORT, else 8000."""
    parser = argparse.ArgumentParser(prog="python3 dev.py serve")
    parser.add_argument("port", nargs="?", type=port_number, help="port to serve on")
    parser.add_argument(
        "--port", dest="port_option", metavar="PORT", type=port_number, help="the same"
    )
    options = parser.parse_args(args)
    if options.port is not None:
        return options.port
    if options.port_option is not None:
        return options.port_option
    try:
        return port_number(os.environ.get("PORT") or str(DEFAULT_PORT))
    except argparse.ArgumentTypeError as error:
        parser.error(f"PORT: {error}")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def serve(args: list[str]) -> int:
    port = serve_port(args)
    # Checked before anything slow is done (install, migrations), so a busy port says so at once.
    if not port_is_free(port):
        print(
            f"Port {port} on {HOST} is already in use (another server?). Stop it, or choose "
            f"another port:\n    python3 dev.py serve {port + 1}\n"
            f"    (or python3 dev.py --port {port + 1}, or PORT={port + 1} python3 dev.py)",
            file=sys.stderr,
            flush=True,
        )
        return 1
    ensure_venv(with_dev=False)
    env = local_env()
    for step in (("migrate", "--no-input"), ("load_reference_data", "--if-empty")):
        if run("manage.py", *step, env=env):
            return 1
    print(
        f"\nThe site is starting on http://{HOST}:{port}/ (admin at /admin/, API at /api/v1/).\n"
        "To sign in to the admin, create your own account in another terminal:\n"
        "    python3 dev.py manage createsuperuser\n",
        flush=True,
    )
    return run("manage.py", "runserver", f"{HOST}:{port}", env=env)


def test(pytest_args: list[str]) -> int:
    ensure_venv(with_dev=True)
    env = local_env()
    # Python's compiled files are kept (in __pycache__/, ignored by git) even where the
    # environment says not to: each pytest process otherwise compiles the project and rewrites
    # the asserts of every test module again, 12 s of CPU a process here against 5 s.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Parallel workers (pytest-xdist), one test database each, unless -n is given.
    chosen = any(arg.startswith(("-n", "--numprocesses")) for arg in pytest_args)
    workers = [] if chosen else ["-n", "auto"]
    return run("-m", "pytest", *workers, *pytest_args, env=env)


def manage(args: list[str]) -> int:
    ensure_venv(with_dev=False)
    return run("manage.py", *args, env=local_env())


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "serve":
        return serve(argv[1:])
    if argv[0].startswith("--port") or argv[0].isdigit():
        return serve(argv)
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
