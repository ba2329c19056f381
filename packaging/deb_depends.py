"""Which Debian packages the bundle needs: the .deb's Depends and Recommends, from the bundle itself.

    python packaging/deb_depends.py dist/qatstudio            # prints "Depends: ..." and "Recommends: ..."
    python packaging/deb_depends.py dist/qatstudio --explain  # which bundled file needs which library

Reads the DT_NEEDED entries of every ELF file in the bundle (a small ELF reader, no tool needed),
drops the libraries the bundle carries itself, and maps each remaining one to its package through
packaging/deb/shlibs.txt and, for Qt's X11 plugin and QtGui, qatstudio/platform_check.py's PACKAGES
(the table the app itself uses to name what a system lacks: the .deb declares the same packages).
A library missing from both fails the build: a new dependency must be looked at (and listed) by a
person, not guessed. Exit status 1 in that case.
"""
from __future__ import annotations

import argparse
import os
import struct
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLE = HERE / "deb" / "shlibs.txt"
sys.path.insert(0, str(HERE.parent))  # the checkout's qatstudio, also when run as a script

from qatstudio.services.platform_check import PACKAGES  # noqa: E402 (Qt-free, no dependencies)

DT_NEEDED, DT_SONAME = 1, 14
SHT_DYNAMIC = 6


def elf_dynamic(path: Path) -> tuple[list[str], str | None]:
    """(DT_NEEDED names, DT_SONAME) of a 64-bit little-endian ELF file; ([], None) if not one."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return [], None
        e_shoff, = struct.unpack_from("<Q", head, 0x28)
        e_shentsize, e_shnum = struct.unpack_from("<HH", head, 0x3A)
        if not e_shoff or not e_shnum:
            return [], None
        f.seek(e_shoff)
        table = f.read(e_shentsize * e_shnum)
        sections = [struct.unpack_from("<IIQQQQIIQQ", table, i * e_shentsize) for i in range(e_shnum)]
        for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
            if kind != SHT_DYNAMIC:
                continue
            str_offset, str_size = sections[link][4], sections[link][5]
            f.seek(str_offset)
            strings = f.read(str_size)
            f.seek(offset)
            dynamic = f.read(size)

            def text(at: int) -> str:
                return strings[at:strings.index(b"\0", at)].decode()

            needed, soname = [], None
            for i in range(0, len(dynamic) - 15, entsize or 16):
                tag, value = struct.unpack_from("<qQ", dynamic, i)
                if tag == 0:
                    break
                if tag == DT_NEEDED:
                    needed.append(text(value))
                elif tag == DT_SONAME:
                    soname = text(value)
            return needed, soname
    return [], None


def read_table(path: Path = TABLE) -> dict[str, tuple[str, bool]]:
    """soname -> (package with optional version, True if only recommended): shlibs.txt's lines and
    platform_check's PACKAGES (Debian names, all required). A soname listed in both is an error."""
    table = {soname: (debian, False) for soname, (debian, _fedora) in PACKAGES.items()}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        soname, rest = line.split(None, 1)
        if soname in PACKAGES:
            raise ValueError(f"{path.name}: {soname} is mapped in qatstudio/platform_check.py already")
        recommends = rest.endswith(" recommends")
        package = rest[: -len(" recommends")].strip() if recommends else rest.strip()
        table[soname] = (package, recommends)
    return table


def external_libraries(bundle: Path) -> dict[str, list[str]]:
    """Libraries needed by the bundle's ELF files and not carried by it -> files needing them."""
    carried: set[str] = set()
    needs: dict[str, list[str]] = defaultdict(list)
    for root, _dirs, files in os.walk(bundle):
        for name in files:
            path = Path(root) / name
            carried.add(name)
            if path.is_symlink() or not path.is_file():
                continue
            needed, soname = elf_dynamic(path)
            if soname:
                carried.add(soname)
            for library in needed:
                needs[library].append(str(path.relative_to(bundle)))
    return {library: users for library, users in sorted(needs.items()) if library not in carried}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--explain", action="store_true", help="list which files need each library")
    args = parser.parse_args(argv)
    table = read_table()
    needs = external_libraries(args.bundle)
    unknown = [library for library in needs if library not in table]
    if unknown:
        print(f"deb_depends: libraries the bundle needs but {TABLE.relative_to(HERE.parent)} doesn't map "
              f"to a package (find it with `dpkg -S <name>` or packages.debian.org, then add a line there, "
              f"or to qatstudio/platform_check.py's PACKAGES if Qt's X11 plugin needs it):",
              file=sys.stderr)
        for library in unknown:
            print(f"  {library}  (needed by {', '.join(needs[library][:3])})", file=sys.stderr)
        return 1
    depends = sorted({table[lib][0] for lib in needs if not table[lib][1]})
    recommends = sorted({table[lib][0] for lib in needs if table[lib][1]} - set(depends))
    if args.explain:
        for library, users in needs.items():
            package, optional = table[library]
            print(f"{library:32} {package:28} {'(recommends) ' if optional else ''}{', '.join(users[:4])}"
                  f"{' ...' if len(users) > 4 else ''}")
    print("Depends: " + ", ".join(depends))
    print("Recommends: " + ", ".join(recommends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
