# -*- coding: utf-8 -*-
# Copyright: contributors to the mailoauth.sophos collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters that turn verify.yml's per-firewall rows into a table and a CSV document."""

from __future__ import annotations

import csv
import io

from ansible.errors import AnsibleFilterError


def _columns(rows, columns):
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise AnsibleFilterError("expected a list of dictionaries (one per row)")
    if columns:
        return list(columns)
    seen = []
    for row in rows:
        seen.extend(key for key in row if key not in seen)
    return seen


def report_table(rows, columns=None):
    """Rows as lines of a fixed-width table: a header, a rule, one line per row."""
    names = _columns(rows, columns)
    cells = [[str(row.get(name, "")) for name in names] for row in rows]
    widths = [max([len(name)] + [len(line[i]) for line in cells]) for i, name in enumerate(names)]
    fmt = "  ".join("{:<%d}" % width for width in widths)
    lines = [fmt.format(*names).rstrip(), fmt.format(*("-" * width for width in widths))]
    lines.extend(fmt.format(*line).rstrip() for line in cells)
    return lines


def report_csv(rows, columns=None):
    """Rows as a CSV document with a header line."""
    names = _columns(rows, columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class FilterModule:
    def filters(self):
        return {"report_table": report_table, "report_csv": report_csv}
