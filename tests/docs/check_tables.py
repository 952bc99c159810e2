#!/usr/bin/env python3
"""check_tables.py DUMP CONF5_MD COUNTERS_MD — the docs' settings and
counters tables against the code's (tests/docs/tables_dump prints them).

Settings (docs/sluice.conf.5.md): every block's table (### NAME, the
`verifier` options table and `### alert options`) lists exactly the code's
keys, in the same order,
with the same range, default and reload column (numbers compared in the field's unit:
"3s" is 3000 for a millisecond field, 3 for a second one; an enum by its
word; yes/no for a bool); and every settings table of the page (a table
whose header starts `key | type | range | default`) is a block of the
code. Counters (docs/counters.md): exactly the code's
counters, each with the same type, unit, meaning, healthy range and source.
Prints every difference; exit status 1 when there is one."""
import re
import subprocess
import sys

UNITS_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def duration_ms(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", text)
    if not m:
        return None
    return int(m.group(1)) * UNITS_MS[m.group(2)]


def value(text, typ):
    """A docs cell as the code stores it, or None when it holds no value."""
    text = text.strip().strip("`")
    text = re.sub(r"\s*\(.*\)$", "", text)  # "0 (off)" -> "0"
    if typ == "rate":
        text = re.sub(r"/(s|min)$", "", text)
        return int(text) if text.isdigit() else None
    if typ in ("uint", "percent"):
        text = text.rstrip("%")
        return int(text) if text.isdigit() else None
    if typ in ("ms", "s"):
        if text == "0":
            return 0
        ms = duration_ms(text)
        if ms is None:
            return None
        return ms if typ == "ms" else ms // 1000
    return None


def md_tables(path):
    """{heading: [rows]} for the first table under each ### heading (or
    under `### verifier`), rows as lists of cells."""
    tables, heading, rows = {}, None, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            heading, rows = line.lstrip("#").strip(), None
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if rows is None:
                # the first table under a heading is its settings table;
                # later ones (e.g. directory's groups per schema) are prose
                rows = [] if heading in tables else tables.setdefault(heading, [])
                rows.append(cells)  # the header row
            elif not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        else:
            rows = None
    return tables


def main():
    dump, conf5, counters_md = sys.argv[1:4]
    out = subprocess.run([dump], check=True, capture_output=True,
                         text=True).stdout
    settings, counters = {}, []
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "setting":
            settings.setdefault(f[1], []).append(f[2:])
        else:
            counters.append(f[1:])
    bad = []

    tables = md_tables(conf5)
    headings = {"directory": "directory ldap", "alert": "alert options"}
    for heading, rows in tables.items():
        if rows and rows[0][:4] == ["key", "type", "range", "default"] and \
                heading not in [headings.get(b, b) for b in settings]:
            bad.append(f"sluice.conf.5: the settings table of `{heading}` "
                       f"is no block of the code")
    for block, rows in settings.items():
        heading = headings.get(block, block)
        doc = tables.get(heading)
        if not doc:
            bad.append(f"sluice.conf.5: no table for `{block}`")
            continue
        doc = doc[1:]
        dkeys = [r[0].strip("`") for r in doc]
        ckeys = [r[0] for r in rows]
        if dkeys != ckeys:
            bad.append(f"sluice.conf.5 `{block}`: keys {dkeys}, the code "
                       f"has {ckeys}")
        bykey = {r[0].strip("`"): r for r in doc}
        for key, typ, lo, hi, default, enums, reload, _example, file in rows:
            r = bykey.get(key)
            if not r or len(r) < 4:
                continue
            rng, dflt = r[2], r[3]
            where = f"sluice.conf.5 `{block} {key}`"
            # the FILES paragraph: its meaning says which kind of file
            said = ("secret" if "a secret file" in r[-1] else
                    "exec" if "(a program" in r[-1] else
                    "file" if "(a file)" in r[-1] else "")
            if said != file:
                bad.append(f"{where}: the meaning calls it "
                           f"{said or 'no file'!r}, the code has "
                           f"{file or 'no file'!r} (write '(a file)', "
                           f"'a secret file' or '(a program')")
            if len(r) < 6 or r[4] != reload:
                bad.append(f"{where}: reload {r[4] if len(r) > 5 else None!r}"
                           f", the code has {reload!r}")
            if typ == "enum":
                words = [w.strip() for w in rng.split(",")]
                if words != enums.split(","):
                    bad.append(f"{where}: range {rng!r}, the code has "
                               f"{enums}")
                want = enums.split(",")[int(default)]
                if dflt.strip("`") != want:
                    bad.append(f"{where}: default {dflt!r}, the code has "
                               f"{want}")
            elif typ in ("bool", "flag"):
                want = {"0": ("no", "off"), "1": ("yes", "on")}[default]
                if dflt not in want:
                    bad.append(f"{where}: default {dflt!r}, the code has "
                               f"{want[0]}")
            elif typ in ("uint", "percent", "ms", "s", "rate"):
                ends = rng.split("..")
                got = [value(e, typ) for e in ends] if len(ends) == 2 else []
                if got != [int(lo), int(hi)]:
                    bad.append(f"{where}: range {rng!r}, the code has "
                               f"{lo}..{hi} ({typ})")
                d = value(dflt, typ)
                if d is not None and d != int(default):
                    bad.append(f"{where}: default {dflt!r}, the code has "
                               f"{default} ({typ})")
                if d is None and dflt not in ("—", "-", "–"):
                    bad.append(f"{where}: default {dflt!r} is not a value")
                if d is None and int(default) != 0:
                    bad.append(f"{where}: no default written, the code "
                               f"has {default} ({typ})")

    doc = {}
    for heading, rows in md_tables(counters_md).items():
        if rows and rows[0][0] == "counter":
            for r in rows[1:]:
                doc[r[0].strip("`")] = r
    names = [c[0] for c in counters]
    for name in doc:
        if name not in names:
            bad.append(f"counters.md: `{name}` is not a counter of the code")
    for name, typ, unit, help_, healthy, source, thr in counters:
        r = doc.get(name)
        if not r:
            bad.append(f"counters.md: no row for `{name}`")
            continue
        want = [f"{typ} ({unit})", help_, healthy, source]
        got = [r[1], r[2], r[3], r[5]]
        for what, w, g in zip(("type", "meaning", "healthy range",
                               "source"), want, got):
            if w != g:
                bad.append(f"counters.md `{name}` {what}: {g!r}, the code "
                           f"has {w!r}")
    for b in bad:
        print(b)
    print(f"{sum(len(v) for v in settings.values())} settings, "
          f"{len(counters)} counters checked, {len(bad)} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
