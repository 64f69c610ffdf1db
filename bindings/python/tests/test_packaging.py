"""The install lines of bindings/python/README.md, run as a user would run them:

- ``bindings/python/build-wheel.sh`` makes a manylinux2014 wheel that carries the library; it is
  installed into a fresh virtual environment outside the checkout, with no Rust on PATH, no
  MAILPORT_LIBRARY and a temporary working directory, and sends a message through a real SMTP
  server on 127.0.0.1 (with this interpreter, and with CPython 3.8, the oldest declared, when
  the machine has one);
- ``pip install ./bindings/python`` builds the library with cargo and bundles it, and says so
  plainly when there is no cargo.

Nothing here reaches the internet: pip takes the build's setuptools from the wheel directory
``.ci/run`` fills (``target/python-build-deps``, or ``$MAILPORT_PY_BUILD_DEPS``) through
``PIP_NO_INDEX`` and ``PIP_FIND_LINKS``, which pip also passes to its isolated build
environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

import mailport

SONAME = f"libmailport.so.{mailport.ABI_VERSION}"
# Generous: the first run builds libmailport with cargo (release) on a small machine.
BUILD_TIMEOUT = 1800


def _build_deps() -> Path:
    deps = Path(os.environ.get("MAILPORT_PY_BUILD_DEPS") or REPO / "target" / "python-build-deps")
    if not any(deps.glob("setuptools-*.whl")):
        pytest.fail(
            f"no setuptools wheel in {deps}, which the offline builds here install from. Fill it "
            "as .ci/run does: python3 -m pip download --only-binary=:all: --dest "
            f"{deps} setuptools==80.9.0"
        )
    return deps


def _clean_env(**extra: str) -> dict:
    """The environment of a user with none of this checkout's settings, offline for pip."""
    drop = ("MAILPORT_", "PYTHON", "PIP_", "VIRTUAL_ENV", "LD_LIBRARY_PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        PIP_NO_INDEX="1", PIP_FIND_LINKS=str(_build_deps()), PIP_DISABLE_PIP_VERSION_CHECK="1"
    )
    env.update(extra)
    return env


def _path_without_rust() -> str:
    """PATH less every directory holding cargo or rustc."""
    keep = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any(os.path.exists(os.path.join(d, tool)) for tool in ("cargo", "rustc"))
    ]
    return os.pathsep.join(keep)


def _run(args, *, env, cwd, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _venv(directory: Path, base: str = sys.executable) -> Path:
    """A fresh virtual environment (with pip, from ensurepip: offline); returns its python."""
    result = _run([base, "-m", "venv", directory], env=_clean_env(), cwd=directory.parent)
    assert result.returncode == 0, result.stderr
    return directory / "bin" / "python"


SEND = """
import json, sys, mailport
receipt = mailport.send_mail(server=sys.argv[1], from_="wheel@example.org",
                             to="user@example.com", subject=sys.argv[2], text="sent by the wheel")
print(json.dumps({"path": mailport.LIBRARY_PATH, "file": mailport.__file__,
                  "version": mailport.library_version(), "abi": mailport.ABI_VERSION,
                  "reply": receipt.reply_code}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by the README's command exactly as written, from the checkout's root."""
    env = _clean_env(PATH=os.environ["PATH"])
    result = _run(
        ["bash", "-c", "bindings/python/build-wheel.sh"], env=env, cwd=REPO, timeout=BUILD_TIMEOUT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.parent == REPO / "target" / "wheels" and path.is_file(), result.stdout
    assert [p.name for p in path.parent.glob("mailport-*.whl")] == [path.name]
    return path


def _oldest_python() -> str | None:
    """A CPython 3.8 (the oldest the package declares) if this machine has one."""
    candidates = [os.environ.get("MAILPORT_TEST_OLDEST_PYTHON"), shutil.which("python3.8")]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("3.8*/bin/python3.8"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv; print(sys.version_info[:2] == (3, 8))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def test_the_wheel_is_tagged_for_manylinux2014_and_carries_the_library(wheel):
    assert wheel.name.startswith("mailport-0.1.0-py3-none-")
    assert "manylinux2014_x86_64" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert f"mailport/{SONAME}" in names
    assert "mailport/py.typed" in names
    assert not [n for n in names if n.startswith("mailport.libs/")], "nothing grafted"
    # auditwheel's own verdict on the file, not the name it was given.
    show = _run(
        [sys.executable, "-m", "auditwheel", "show", wheel], env=os.environ, cwd=wheel.parent
    )
    assert show.returncode == 0, show.stderr
    text = " ".join(show.stdout.split())
    assert 'consistent with the following platform tag: "manylinux_2_17_x86_64"' in text, text


@pytest.mark.parametrize("interpreter", ["this", "oldest"])
def test_the_wheel_installs_and_sends_without_rust_or_settings(
    wheel, tmp_path, plain_server, interpreter
):
    base = sys.executable if interpreter == "this" else _oldest_python()
    if base is None:
        pytest.skip("no CPython 3.8 on this machine (MAILPORT_TEST_OLDEST_PYTHON names one)")
    python = _venv(tmp_path / "venv", base)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = _clean_env(PATH=f"{python.parent}{os.pathsep}{_path_without_rust()}", HOME=str(cwd))
    assert shutil.which("cargo", path=env["PATH"]) is None
    result = _run([python, "-m", "pip", "install", wheel], env=env, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr

    server = f"smtp+plain://127.0.0.1:{plain_server.port}"
    result = _run([python, "-c", SEND, server, f"from the wheel ({interpreter})"], env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    site = Path(info["file"]).parent
    assert str(site).startswith(str(tmp_path / "venv") + os.sep)
    assert info["path"] == str(site / SONAME)  # the bundled library, nothing else
    assert info["version"].startswith("mailport/") and info["abi"] == mailport.ABI_VERSION
    assert info["reply"] == 250
    message = plain_server.only_message()
    assert message["email"]["Subject"] == f"from the wheel ({interpreter})"
    assert message["email"].get_body(("plain",)).get_content().strip() == "sent by the wheel"


def test_pip_install_from_the_checkout_builds_and_bundles_the_library(tmp_path, plain_server):
    python = _venv(tmp_path / "venv")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = _clean_env(PATH=f"{python.parent}{os.pathsep}{os.environ['PATH']}")
    result = _run(
        [python, "-m", "pip", "install", "./bindings/python"],
        env=env,
        cwd=REPO,
        timeout=BUILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    # Used from elsewhere, with no Rust: the installed package carries what cargo built.
    env["PATH"] = f"{python.parent}{os.pathsep}{_path_without_rust()}"
    server = f"smtp+plain://127.0.0.1:{plain_server.port}"
    result = _run([python, "-c", SEND, server, "from a checkout install"], env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    site = Path(info["file"]).parent
    assert str(site).startswith(str(tmp_path / "venv") + os.sep)
    assert info["path"] == str(site / SONAME)
    assert info["abi"] == mailport.ABI_VERSION
    assert plain_server.only_message()["email"]["Subject"] == "from a checkout install"


def test_pip_install_from_the_checkout_without_cargo_says_what_is_missing(tmp_path):
    python = _venv(tmp_path / "venv")
    env = _clean_env(PATH=f"{python.parent}{os.pathsep}{_path_without_rust()}")
    result = _run([python, "-m", "pip", "install", "./bindings/python"], env=env, cwd=REPO)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "there is no `cargo` on PATH" in output, output
    assert "MAILPORT_BUNDLE_LIBRARY" in output and "build-wheel.sh" in output
    assert _run([python, "-c", "import mailport"], env=env, cwd=tmp_path).returncode != 0


def _pip_wheel(tmp_path: Path, bundle: str) -> subprocess.CompletedProcess:
    env = _clean_env(PATH=os.environ["PATH"], MAILPORT_BUNDLE_LIBRARY=bundle)
    out = tmp_path / "out"
    return _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            out,
            "./bindings/python",
        ],
        env=env,
        cwd=REPO,
    )


def test_a_package_for_the_system_library_is_pure_and_carries_none(tmp_path):
    result = _pip_wheel(tmp_path, "none")
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "out").glob("mailport-*.whl")
    assert wheel.name == "mailport-0.1.0-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "mailport/py.typed" in names
    assert not [n for n in names if "libmailport" in n]


def test_a_library_of_another_abi_is_not_bundled(tmp_path):
    source = tmp_path / "fake.c"
    source.write_text("unsigned int mailport_abi_version(void) { return 99; }\n")
    fake = tmp_path / "libmailport.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", fake, source], check=True, timeout=60)
    result = _pip_wheel(tmp_path, str(fake))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"{fake} has ABI version 99" in output, output
    assert f"written for ABI version {mailport.ABI_VERSION}" in output
    assert not list((tmp_path / "out").glob("*.whl"))


def test_a_missing_library_to_bundle_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "libmailport.so"
    result = _pip_wheel(tmp_path, str(missing))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"MAILPORT_BUNDLE_LIBRARY names '{missing}', and there is no file there" in output
