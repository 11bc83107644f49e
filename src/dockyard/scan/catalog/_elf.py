"""Just enough ELF to find a section's bytes by name (32/64-bit, either byte order)."""

from __future__ import annotations

import mmap
import struct

__all__ = ["elf_section"]


def elf_section(data: bytes | mmap.mmap, wanted: str) -> bytes | None:
    if len(data) < 64 or data[:4] != b"\x7fELF":
        return None
    is64 = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    try:
        if is64:
            shoff = struct.unpack_from(order + "Q", data, 0x28)[0]
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x3A)
        else:
            shoff = struct.unpack_from(order + "I", data, 0x20)[0]
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", data, 0x2E)
        if shoff == 0 or shnum == 0 or shstrndx >= shnum:
            return None

        def section(i: int) -> tuple[int, int, int]:
            base = shoff + i * shentsize
            if is64:
                name, _t, _f, _a, off, size = struct.unpack_from(order + "IIQQQQ", data, base)
            else:
                name, _t, _f, _a, off, size = struct.unpack_from(order + "IIIIII", data, base)
            return name, off, size

        _, str_off, str_size = section(shstrndx)
        names = data[str_off : str_off + str_size]
        for i in range(shnum):
            name_off, off, size = section(i)
            end = names.find(b"\x00", name_off)
            if names[name_off:end].decode("latin-1") == wanted:
                return data[off : off + size]
    except struct.error:
        return None
    return None
