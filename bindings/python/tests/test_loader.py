"""Which library the package loads, in which order, and every message it gives when it refuses
one or finds none (mailport/_loader.py). Each case imports the package in a child process, with
the environment and working directory the case needs; wrong libraries are tiny C libraries built
here with gcc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BINDING, REPO

import mailport
from mailport import _ffi, _loader

SONAME = f"libmailport.so.{mailport.ABI_VERSION}"


def _import_in_subprocess(package_parent, env_overrides, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("MAILPORT_LIBRARY", "PYTHONPATH")}
    env.update(env_overrides)
    env["PYTHONPATH"] = str(package_parent)
    return subprocess.run(
        [sys.executable, "-c", "import mailport; print(mailport.LIBRARY_PATH)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _installed_copy(directory: Path) -> Path:
    """The package copied into ``directory/site`` (not a checkout); returns ``directory/site``."""
    site = directory / "site"
    shutil.copytree(BINDING / "mailport", site / "mailport")
    return site


def _c_library(directory: Path, source: str) -> Path:
    """A shared library built from ``source`` with gcc."""
    directory.mkdir(parents=True, exist_ok=True)
    c_file = directory / "fake.c"
    c_file.write_text(source)
    library = directory / "libfake.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", str(library), str(c_file)], check=True, timeout=60
    )
    return library


WRONG_ABI = """
unsigned int mailport_abi_version(void) { return 99; }
const char *mailport_version(void) { return "mailport/9.9.9"; }
"""


@pytest.fixture
def wrong_abi_library(tmp_path) -> Path:
    return _c_library(tmp_path / "wrong-abi", WRONG_ABI)


def _fake_checkout(root: Path) -> Path:
    """A directory that looks like a mailport checkout: the workspace manifest and the binding."""
    (root / "bindings" / "python").mkdir(parents=True)
    shutil.copytree(BINDING / "mailport", root / "bindings" / "python" / "mailport")
    (root / "Cargo.toml").write_text('[package]\nname = "mailport"\n')
    return root


# -- the order ------------------------------------------------------------------------------------


def test_finds_the_build_directory_without_the_environment_variable(tmp_path):
    result = _import_in_subprocess(BINDING, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    found = result.stdout.strip()
    assert found.startswith(str(REPO / "target")), found
    assert found.endswith("libmailport.so")


def test_environment_variable_is_an_exact_path(tmp_path):
    library = _ffi.LIBRARY_PATH
    result = _import_in_subprocess(BINDING, {"MAILPORT_LIBRARY": library}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == library

    missing = str(tmp_path / "nowhere" / "libmailport.so")
    result = _import_in_subprocess(BINDING, {"MAILPORT_LIBRARY": missing}, tmp_path)
    assert result.returncode != 0
    err = result.stderr
    assert "ImportError" in err and missing in err and "there is no file there" in err
    assert "MAILPORT_LIBRARY" in err and "nothing else is tried" in err


def test_environment_variable_wins_over_a_bundled_library(tmp_path, wrong_abi_library):
    site = _installed_copy(tmp_path)
    shutil.copy(wrong_abi_library, site / "mailport" / SONAME)
    result = _import_in_subprocess(site, {"MAILPORT_LIBRARY": _ffi.LIBRARY_PATH}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _ffi.LIBRARY_PATH


def test_finds_the_library_bundled_in_the_package_under_its_soname(tmp_path):
    site = _installed_copy(tmp_path)
    shutil.copy(_ffi.LIBRARY_PATH, site / "mailport" / SONAME)
    result = _import_in_subprocess(site, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(site / "mailport" / SONAME)


def test_the_unversioned_name_beside_the_package_is_not_the_bundle(tmp_path):
    site = _installed_copy(tmp_path)
    shutil.copy(_ffi.LIBRARY_PATH, site / "mailport" / "libmailport.so")
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": ""}, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    assert str(site / "mailport" / SONAME) + ": no such file" in result.stderr


def test_finds_the_system_library_by_soname_and_reports_its_file(tmp_path):
    site = _installed_copy(tmp_path)
    system = tmp_path / "usr" / "lib"
    system.mkdir(parents=True)
    shutil.copy(_ffi.LIBRARY_PATH, system / SONAME)
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": str(system)}, tmp_path)
    assert result.returncode == 0, result.stderr
    # Loaded by its SONAME, reported by the file the dynamic loader opened.
    assert result.stdout.strip() == str(system / SONAME)


def test_the_system_search_never_loads_the_unversioned_development_link(tmp_path):
    site = _installed_copy(tmp_path)
    system = tmp_path / "usr" / "lib"
    system.mkdir(parents=True)
    shutil.copy(_ffi.LIBRARY_PATH, system / "libmailport.so")
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": str(system)}, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    assert f"dlopen by SONAME): {SONAME}" in result.stderr


def _plant(*targets):
    """A working libmailport in target/release and target/debug of each directory."""
    for target in targets:
        for profile in ("release", "debug"):
            (target / profile).mkdir(parents=True, exist_ok=True)
            shutil.copy(_ffi.LIBRARY_PATH, target / profile / "libmailport.so")


def test_no_target_directory_above_an_installed_package_is_searched(tmp_path):
    site = tmp_path / "x" / "site-packages"
    shutil.copytree(BINDING / "mailport", site / "mailport")
    # Every directory above the package, ../../../target of it (tmp_path/target) included.
    planted = [site / "target", tmp_path / "x" / "target", tmp_path / "target"]
    _plant(*planted)
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": ""}, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    assert "ImportError" in result.stderr
    for target in planted:
        assert str(target) not in result.stderr


def test_only_the_checkouts_own_target_directory_is_searched(tmp_path):
    checkout = tmp_path / "a" / "b"
    shutil.copytree(BINDING / "mailport", checkout / "bindings" / "python" / "mailport")
    planted = [tmp_path / "a" / "target", tmp_path / "target"]
    _plant(*planted)
    package_parent = checkout / "bindings" / "python"
    result = _import_in_subprocess(package_parent, {"LD_LIBRARY_PATH": ""}, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    assert str(checkout / "target" / "release" / "libmailport.so") in result.stderr
    assert str(checkout / "target" / "debug" / "libmailport.so") in result.stderr
    for target in planted:
        assert str(target) not in result.stderr

    _plant(checkout / "target")
    result = _import_in_subprocess(package_parent, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(checkout / "target") + os.sep)


# -- the ABI check --------------------------------------------------------------------------------


def test_abi_mismatch_is_refused_with_a_clear_message():
    with pytest.raises(ImportError) as info:
        _ffi.check_abi(2, "/opt/lib/libmailport.so", expected=1)
    text = str(info.value)
    assert "/opt/lib/libmailport.so" in text
    assert "ABI version 2" in text and "ABI version 1" in text
    _ffi.check_abi(1, "x", expected=1)  # equal: fine


def test_a_library_of_another_abi_named_by_the_variable_is_refused(tmp_path, wrong_abi_library):
    env = {"MAILPORT_LIBRARY": str(wrong_abi_library)}
    result = _import_in_subprocess(BINDING, env, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    err = result.stderr
    assert f"refusing the library {wrong_abi_library} (mailport/9.9.9, ABI version 99)" in err
    assert f"written for ABI version {mailport.ABI_VERSION}" in err
    assert f"Point $MAILPORT_LIBRARY at a {SONAME}" in err


def test_a_bundled_library_of_another_abi_is_refused_not_skipped(tmp_path, wrong_abi_library):
    # A working system library is there too: a broken wheel must say so, not fall back to it.
    site = _installed_copy(tmp_path)
    bundled = site / "mailport" / SONAME
    shutil.copy(wrong_abi_library, bundled)
    system = tmp_path / "usr" / "lib"
    system.mkdir(parents=True)
    shutil.copy(_ffi.LIBRARY_PATH, system / SONAME)
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": str(system)}, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    err = result.stderr
    assert f"refusing the library {bundled} (mailport/9.9.9, ABI version 99)" in err
    assert "build-wheel.sh" in err


def test_a_system_library_of_another_abi_is_refused(tmp_path, wrong_abi_library):
    site = _installed_copy(tmp_path)
    system = tmp_path / "usr" / "lib"
    system.mkdir(parents=True)
    shutil.copy(wrong_abi_library, system / SONAME)
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": str(system)}, tmp_path)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    err = result.stderr
    assert f"refusing the library {system / SONAME} (mailport/9.9.9, ABI version 99)" in err
    assert f"Install {SONAME} from the same mailport release" in err


def test_a_library_that_is_not_libmailport_is_refused(tmp_path):
    other = _c_library(tmp_path / "other", "int something_else(void) { return 0; }\n")
    result = _import_in_subprocess(BINDING, {"MAILPORT_LIBRARY": str(other)}, tmp_path)
    assert result.returncode != 0
    assert f"{other} (MAILPORT_LIBRARY) does not export mailport_abi_version()" in result.stderr


def test_a_library_that_does_not_load_says_why(tmp_path):
    garbage = tmp_path / "libmailport.so"
    garbage.write_bytes(b"not an ELF file\n" * 64)
    result = _import_in_subprocess(BINDING, {"MAILPORT_LIBRARY": str(garbage)}, tmp_path)
    assert result.returncode != 0
    err = result.stderr
    assert f"cannot load the library $MAILPORT_LIBRARY names, {str(garbage)!r}" in err
    assert "invalid ELF header" in err


def test_a_glibc_too_old_is_explained():
    text = _loader._why(OSError("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found"))
    assert "newer glibc than this system has" in text and "manylinux" in text


# -- nothing found: not built, or built but not where the package looks ---------------------------


def test_nothing_found_lists_every_place_tried_and_how_to_install(tmp_path):
    site = _installed_copy(tmp_path)
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": ""}, tmp_path)
    assert result.returncode != 0
    err = result.stderr
    assert "ImportError" in err
    assert "$MAILPORT_LIBRARY: not set" in err
    assert f"bundled in the package: {site / 'mailport' / SONAME}: no such file" in err
    assert "this checkout's build" not in err  # not in a checkout
    assert f"system loader (dlopen by SONAME): {SONAME}" in err
    assert "Install the mailport wheel" in err and "build-wheel.sh" in err
    assert "cargo build" not in err  # nothing here to build


def test_nothing_found_from_inside_a_checkout_with_a_build_says_where_it_is(tmp_path):
    site = _installed_copy(tmp_path / "venv")
    checkout = _fake_checkout(tmp_path / "src" / "mailport")
    _plant(checkout / "target")
    cwd = checkout / "bindings"
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": ""}, cwd)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    err = result.stderr
    # Never loaded from there: the working directory is not a place the package looks.
    assert "this checkout's build" not in err
    assert f"A build exists in the checkout at {checkout}" in err
    assert "export MAILPORT_LIBRARY=" + str(checkout / "target") in err
    assert f"python3 -m pip install {checkout / 'bindings' / 'python'}" in err
    assert "not built" not in err


def test_nothing_found_from_inside_a_checkout_without_a_build_says_it_is_not_built(tmp_path):
    site = _installed_copy(tmp_path / "venv")
    checkout = _fake_checkout(tmp_path / "src" / "mailport")
    result = _import_in_subprocess(site, {"LD_LIBRARY_PATH": ""}, checkout)
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    err = result.stderr
    assert f"The library is not built in the checkout at {checkout}" in err
    assert f"python3 -m pip install {checkout / 'bindings' / 'python'}" in err
    assert "A build exists" not in err


def test_a_source_tree_package_without_a_build_says_what_to_build(tmp_path):
    checkout = _fake_checkout(tmp_path / "mailport")
    result = _import_in_subprocess(checkout / "bindings" / "python", {"LD_LIBRARY_PATH": ""}, "/")
    assert result.returncode != 0, f"loaded {result.stdout.strip()}"
    err = result.stderr
    assert str(checkout / "target" / "release" / "libmailport.so") + ": no such file" in err
    assert (
        f"The library is not built in the checkout at {checkout}: "
        "run `cargo build --release -p mailport` there." in err
    )
