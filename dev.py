#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py [serve] [PORT]
                            install into .venv, migrate, load reference data and ECB rates,
                            then serve the site on http://127.0.0.1:PORT/ (default 8000;
                            also --port PORT or the PORT environment variable)
    python3 dev.py test     install into .venv (with the test tools) and run every test in
                            parallel workers; extra arguments go to pytest (-n 0: one process)
    python3 dev.py manage … run a manage.py command inside .venv

DATABASE_URL chooses the database (an SQLite file, db.sqlite3, by default).
"""

import argparse
import errno
import hashlib
import os
import socket
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
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
