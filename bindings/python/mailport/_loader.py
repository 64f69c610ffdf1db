"""Finding libmailport, loading it, and refusing a library of another ABI generation.

``_ffi`` declares and calls the library's functions; this module only decides which file is the
library, so that the rules below live in one place and their error messages can be tested
without loading anything else.

Search order (the first file that loads is the one used, and its ABI is then checked):

1. ``$MAILPORT_LIBRARY``, an exact path. When it is set nothing else is tried: a library you
   named that does not load is an error, not a reason to pick another one.
2. The library bundled inside this package, ``mailport/libmailport.so.1`` (its SONAME): what a
   wheel built by ``bindings/python/build-wheel.sh`` or ``pip install ./bindings/python``
   carries.
3. When this package is ``bindings/python/mailport`` of a mailport checkout (imported from the
   source tree: the tests, ``pip install -e``), that checkout's ``target/release`` and
   ``target/debug`` ``libmailport.so``, the newer first. No other ``target/`` is looked at.
4. The system's library by its SONAME, ``libmailport.so.1`` (``LD_LIBRARY_PATH``, the
   ``ldconfig`` cache: where ``cargo cinstall`` puts it). The unversioned ``libmailport.so`` is
   never loaded: it may be a newer ABI generation's development link.

The library found must report ``mailport_abi_version() == ABI_VERSION``; any other generation is
refused with an ``ImportError`` naming the file, its version and ABI, and what to do. When no
library loads, the ``ImportError`` lists every place tried and why it failed, and tells a
library that was never built from one that was built but is not where this package looks.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, byref, c_char_p, c_int, c_uint32, c_void_p
from pathlib import Path

#: The ABI generation this binding was written for (``MAILPORT_ABI_VERSION`` in the header).
ABI_VERSION = 1

#: The environment variable naming the exact path of the library to load.
ENV_VAR = "MAILPORT_LIBRARY"

#: The command that builds the library in a checkout (what ``pip install ./bindings/python`` runs).
CARGO_BUILD = "cargo build --release -p mailport"


def bundled_name() -> str:
    """The file name of the library inside the package: its SONAME where the platform has one."""
    if sys.platform == "darwin":
        return "libmailport.dylib"
    if sys.platform == "win32":
        return "mailport.dll"
    return f"libmailport.so.{ABI_VERSION}"


def build_name() -> str:
    """The file name ``cargo build`` writes in ``target/<profile>/``."""
    if sys.platform == "darwin":
        return "libmailport.dylib"
    if sys.platform == "win32":
        return "mailport.dll"
    return "libmailport.so"


def _is_checkout(root: Path) -> bool:
    """A mailport checkout: the workspace whose library crate is ``mailport`` and which holds this
    binding. Both are asked for, so an unrelated Rust project is never taken for one."""
    try:
        manifest = (root / "Cargo.toml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return 'name = "mailport"' in manifest and (root / "bindings" / "python" / "mailport").is_dir()


def _own_checkout(package: Path) -> Path | None:
    """The checkout this package directory is part of, or None for an installed copy.

    Only ``<root>/bindings/python/mailport`` counts. Walking up, or ../../../target of any copy,
    would load a target/ planted above a package installed under a directory others can write to
    (/tmp/x/site-packages/mailport: /tmp/target)."""
    if package.parent.name != "python" or package.parent.parent.name != "bindings":
        return None
    return package.parent.parent.parent


def _builds(root: Path) -> list[Path]:
    """``target/{release,debug}/libmailport.so`` of a checkout, the most recently built first: a
    stale release build must not hide a fresh debug one."""
    name = build_name()
    builds = [root / "target" / profile / name for profile in ("release", "debug")]
    builds.sort(key=lambda p: p.stat().st_mtime if p.is_file() else 0.0, reverse=True)
    return builds


def _checkout_around(directory: Path) -> Path | None:
    """The mailport checkout containing ``directory`` (the working directory), if any. Used only
    to say in an error where a build is; nothing is ever loaded from there."""
    for candidate in (directory, *directory.parents):
        if _is_checkout(candidate):
            return candidate
    return None


def candidates(package: Path) -> list[tuple[str, str, bool]]:
    """(label, path or name, is_path) for each library to try after ``$MAILPORT_LIBRARY``."""
    found = [("bundled in the package", str(package / bundled_name()), True)]
    root = _own_checkout(package)
    if root is not None:
        found += [("this checkout's build", str(path), True) for path in _builds(root)]
    if sys.platform == "darwin":
        found.append(("system loader (dlopen)", "libmailport.dylib", False))
    elif sys.platform == "win32":
        found.append(("system loader", "mailport.dll", False))
    else:
        found.append(("system loader (dlopen by SONAME)", bundled_name(), False))
    return found


def _why(error: OSError) -> str:
    """The loader's message, with what it means when that is not obvious."""
    text = str(error)
    if "GLIBC_" in text:
        text += (
            " (this library was built against a newer glibc than this system has: use the"
            " manylinux wheel from bindings/python/build-wheel.sh, which needs glibc 2.17)"
        )
    elif "wrong ELF class" in text or "invalid ELF header" in text:
        text += " (it is not a library for this machine's architecture)"
    return text


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", c_char_p),
        ("dli_fbase", c_void_p),
        ("dli_sname", c_char_p),
        ("dli_saddr", c_void_p),
    ]


def _real_path(library: ctypes.CDLL, name: str) -> str:
    """The file the dynamic loader opened for ``name``: a library loaded by SONAME is reported by
    its path, so that messages and ``mailport.LIBRARY_PATH`` say which file it is."""
    if sys.platform == "win32":
        return name
    try:
        dladdr = ctypes.CDLL(None).dladdr
        symbol = library.mailport_abi_version
    except (AttributeError, OSError):
        return name
    dladdr.argtypes = [c_void_p, POINTER(_DlInfo)]
    dladdr.restype = c_int
    info = _DlInfo()
    if dladdr(ctypes.cast(symbol, c_void_p), byref(info)) and info.dli_fname:
        return os.path.realpath(os.fsdecode(info.dli_fname))
    return name


def _version(library: ctypes.CDLL) -> str:
    try:
        function = library.mailport_version
    except AttributeError:
        return "of unknown version"
    function.restype = c_char_p
    function.argtypes = []
    raw = function()
    return raw.decode("utf-8", "replace") if raw else "of unknown version"


def check_abi(
    found: int,
    path: str,
    expected: int = ABI_VERSION,
    version: str = "",
    source: str = "",
) -> None:
    """Raise ImportError unless the library's ABI generation is the one this binding speaks."""
    if found == expected:
        return
    what = (
        f"{path} ({version}, ABI version {found})" if version else f"{path} (ABI version {found})"
    )
    if source == ENV_VAR:
        todo = (
            f"Point ${ENV_VAR} at a libmailport.so.{expected} from the same mailport release as "
            f"this package, or unset {ENV_VAR} to use the library bundled in the package."
        )
    elif source.startswith("bundled"):
        todo = (
            "The package was built with the wrong library: rebuild the wheel with "
            "bindings/python/build-wheel.sh, or reinstall with python3 -m pip install "
            "./bindings/python from the checkout of the same release."
        )
    else:
        todo = (
            f"Install libmailport.so.{expected} from the same mailport release as this package "
            f"(or set {ENV_VAR} to one), or install the mailport wheel, which bundles a "
            "matching library."
        )
    raise ImportError(
        f"mailport: refusing the library {what}: this Python package was written for ABI "
        f"version {expected}, and a library of another ABI generation has different functions "
        f"or types, so calling it could crash. {todo}"
    )


def _accept(library: ctypes.CDLL, name: str, source: str) -> tuple[ctypes.CDLL, str]:
    """Check the ABI of a library that loaded; return it with the path of its file."""
    path = _real_path(library, name)
    try:
        abi = library.mailport_abi_version
    except AttributeError:
        raise ImportError(
            f"mailport: {path} ({source}) does not export mailport_abi_version(): it is not "
            f"libmailport, or one older than ABI version {ABI_VERSION}. "
            + (f"Point {ENV_VAR} at libmailport." if source == ENV_VAR else "Remove or replace it.")
        ) from None
    abi.restype = c_uint32
    abi.argtypes = []
    check_abi(abi(), path, ABI_VERSION, _version(library), source)
    return library, path


def _advice(package: Path, cwd: Path) -> str:
    """What to do when nothing loaded: build it, point at the build, or install it."""
    own = _own_checkout(package)
    if own is not None:
        # The package runs from a checkout whose target/ was tried: either nothing is built
        # there, or what is built does not load (the lines above say why).
        if not any(path.is_file() for path in _builds(own)):
            return f"The library is not built in the checkout at {own}: run `{CARGO_BUILD}` there."
        return f"Rebuild it in the checkout at {own}: `{CARGO_BUILD}`."
    around = _checkout_around(cwd)
    if around is not None:
        built = [path for path in _builds(around) if path.is_file()]
        if built:
            return (
                f"A build exists in the checkout at {around}: {built[0]}\n"
                "An installed package does not look inside checkouts. Point at that build:\n"
                f"    export {ENV_VAR}={built[0]}\n"
                "or reinstall the package from the checkout, which bundles the library:\n"
                f"    python3 -m pip install {around / 'bindings' / 'python'}"
            )
        return (
            f"The library is not built in the checkout at {around}. Reinstall the package from "
            "it, which builds the library with cargo and bundles it:\n"
            f"    python3 -m pip install {around / 'bindings' / 'python'}"
        )
    return (
        "Install the mailport wheel, which bundles the library (bindings/python/build-wheel.sh "
        "builds it), install libmailport on the system so that the loader finds "
        f"{bundled_name()} (README.md, C section: cargo cinstall), or set {ENV_VAR} to the "
        "library's path."
    )


def load(package: Path | None = None, cwd: Path | None = None) -> tuple[ctypes.CDLL, str]:
    """Find, load and check the library; return it and the path of its file."""
    package = package or Path(__file__).resolve().parent
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if not os.path.exists(explicit):
            raise ImportError(
                f"mailport: ${ENV_VAR} names {explicit!r}, and there is no file there. When "
                f"{ENV_VAR} is set nothing else is tried: correct the path, or unset {ENV_VAR} to "
                "use the library bundled in the package or installed on the system."
            )
        try:
            library = ctypes.CDLL(explicit)
        except OSError as error:
            raise ImportError(
                f"mailport: cannot load the library ${ENV_VAR} names, {explicit!r}: "
                f"{_why(error)}\nPoint {ENV_VAR} at a libmailport built for this machine, or "
                f"unset it to use the library bundled in the package or installed on the system."
            ) from None
        return _accept(library, explicit, ENV_VAR)

    tried = [f"  ${ENV_VAR}: not set"]
    for label, target, is_path in candidates(package):
        if is_path and not os.path.isfile(target):
            tried.append(f"  {label}: {target}: no such file")
            continue
        try:
            library = ctypes.CDLL(target)
        except OSError as error:
            tried.append(f"  {label}: {target}: {_why(error)}")
            continue
        return _accept(library, target, label)
    raise ImportError(
        "mailport: cannot find libmailport, the shared library this package drives. Tried, in "
        "order:\n" + "\n".join(tried) + "\n" + _advice(package, cwd or Path.cwd())
    )
