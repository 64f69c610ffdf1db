"""Build hooks that put libmailport inside the package (pyproject.toml has the metadata).

A wheel of this package is a platform wheel carrying the shared library as
``mailport/libmailport.so.1`` (its SONAME), the layout wasmtime-py uses for its ctypes binding,
so that ``pip install`` needs neither Rust nor an environment variable. Which library goes in:

- ``$MAILPORT_BUNDLE_LIBRARY``, a path: that file (``build-wheel.sh`` passes the glibc 2.17
  build of ``packaging/portable-lib.sh``);
- ``MAILPORT_BUNDLE_LIBRARY=none``: no library; the wheel is pure Python and finds the library
  on the system (for distributions that package libmailport separately);
- unset, in a mailport checkout: ``cargo build --release -p mailport`` at the checkout's root,
  then ``target/release/libmailport.so`` (what ``pip install ./bindings/python`` does).

The library is loaded here and its ``mailport_abi_version()`` compared with the package's before
it is bundled, so a wheel never carries a library its own import would refuse.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ENV = "MAILPORT_BUNDLE_LIBRARY"
CARGO_BUILD = ["cargo", "build", "--release", "-p", "mailport"]


def _load_loader():
    """The package's ``_loader`` module, read on its own: importing the package would load a
    library, and ``_loader`` imports nothing of it. Its ABI version and file names are the ones
    the package checks at import, so a wheel is built by the same rules."""
    spec = importlib.util.spec_from_file_location(
        "_mailport_loader", HERE / "mailport" / "_loader.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_loader = _load_loader()


def _bundles() -> bool:
    return os.environ.get(ENV, "").strip().lower() != "none"


def _in_checkout() -> bool:
    manifest = ROOT / "Cargo.toml"
    return manifest.is_file() and 'name = "mailport"' in manifest.read_text(encoding="utf-8")


def _cargo_build() -> Path:
    """Build the library in the checkout this package is part of; return the file built."""
    cargo = shutil.which("cargo")
    if cargo is None:
        raise SetupError(
            "mailport: building this package from a checkout builds libmailport with Rust's "
            "cargo, and there is no `cargo` on PATH. Install Rust (rustup.rs) and retry; or "
            f"build the library elsewhere and set {ENV} to its libmailport.so; or install the "
            "wheel made by bindings/python/build-wheel.sh, which needs no Rust."
        )
    print(f"mailport: {' '.join(CARGO_BUILD)} (in {ROOT})", file=sys.stderr, flush=True)
    result = subprocess.run([cargo, *CARGO_BUILD[1:]], cwd=ROOT)
    if result.returncode != 0:
        raise SetupError(
            f"mailport: `{' '.join(CARGO_BUILD)}` failed in {ROOT} (exit {result.returncode}); "
            "its output is above."
        )
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    built = target / "release" / _loader.build_name()
    if not built.is_file():
        raise SetupError(f"mailport: cargo succeeded but wrote no {built}.")
    return built


def _library_to_bundle() -> Path:
    named = os.environ.get(ENV, "").strip()
    if named:
        path = Path(named).expanduser().resolve()
        if not path.is_file():
            raise SetupError(f"mailport: {ENV} names {named!r}, and there is no file there.")
        return path
    if not _in_checkout():
        raise SetupError(
            f"mailport: no library to bundle. {HERE} is not part of a mailport checkout, so "
            f"cargo cannot build one: set {ENV} to a built libmailport.so, or {ENV}=none for a "
            "package that uses the system's libmailport.so.1."
        )
    return _cargo_build()


def _check(path: Path) -> None:
    """Refuse to bundle a library whose ABI the package would refuse at import."""
    expected = _loader.ABI_VERSION
    try:
        library = ctypes.CDLL(str(path))
        abi = library.mailport_abi_version
    except OSError as error:
        raise SetupError(f"mailport: cannot load {path} to check it: {error}") from None
    except AttributeError:
        raise SetupError(f"mailport: {path} is not libmailport (no mailport_abi_version)") from None
    abi.restype = ctypes.c_uint32
    found = abi()
    if found != expected:
        raise SetupError(
            f"mailport: {path} has ABI version {found}; this package is written for ABI version "
            f"{expected}. Bundle a library from the same mailport release."
        )


class BuildPyWithLibrary(build_py):
    """build_py, then the library copied into the built package under its SONAME."""

    def run(self) -> None:
        super().run()
        package = Path(self.build_lib) / "mailport"
        # A build directory reused from an earlier build may hold its library: only the one
        # chosen now may end up in the wheel.
        if package.is_dir():
            for stale in package.iterdir():
                if stale.name.startswith(("libmailport.", "mailport.dll")):
                    stale.unlink()
        if not _bundles():
            return
        library = _library_to_bundle()
        if self.editable_mode:
            # An editable install runs the source tree, which finds the checkout's target/.
            return
        _check(library)
        package.mkdir(parents=True, exist_ok=True)
        destination = package / _loader.bundled_name()
        shutil.copyfile(library, destination)
        destination.chmod(0o755)
        print(f"mailport: bundled {library} as {destination}", file=sys.stderr, flush=True)


class LibraryDistribution(Distribution):
    """A distribution with a native library: installed to platlib, and its wheel is not pure
    (auditwheel refuses a shared library under purelib)."""

    def has_ext_modules(self) -> bool:
        return _bundles()


class PlatformWheel(bdist_wheel):
    """A wheel with a bundled library is for one platform but any CPython 3: ctypes has no
    Python ABI (tag py3-none-<platform>, as wasmtime-py's wheels)."""

    def get_tag(self) -> tuple[str, str, str]:
        python, abi, platform = super().get_tag()
        if _bundles():
            return "py3", "none", platform
        return python, abi, platform


setup(
    distclass=LibraryDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
)
