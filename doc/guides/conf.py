# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Sphinx configuration for the dpdk-vfio-user guides.
# Build with devtools/build-docs.sh (or: sphinx-build -W -b html doc/guides <out>).
# Only what Debian's python3-sphinx provides; the pictures are graphviz
# sources (img/*.dot) drawn by sphinx.ext.graphviz with Debian's graphviz.

import os
import re
import sys

_root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _project_version():
    """The version from the top-level meson.build, so it is kept in one place."""
    try:
        with open(os.path.join(_root, 'meson.build'), encoding='utf-8') as f:
            m = re.search(r"version:\s*'([^']+)'", f.read())
            return m.group(1) if m else 'unknown'
    except OSError:
        return 'unknown'


project = 'dpdk-vfio-user'
author = 'The dpdk-vfio-user authors'
copyright = '2026, The dpdk-vfio-user authors'
version = release = _project_version()

master_doc = 'index'
root_doc = 'index'
source_suffix = '.rst'
exclude_patterns = ['_build']
extensions = ['sphinx.ext.graphviz']
graphviz_output_format = 'svg'
graphviz_dot_args = ['-Gfontname=Helvetica']

highlight_language = 'none'
pygments_style = 'sphinx'
numfig = True

# perf.rst's benchmark table and chart are made at build time from the
# figures of one devtools/bench.sh run committed in doc/guides/perf/
# (bench-summary.csv, bench-info.txt): the table with the csv module, the
# chart by devtools/bench-plot.py, which needs Debian's python3-matplotlib
# (devtools/build-docs.sh installs it; without it the page says how to draw
# the chart instead). Generated files go to doc/guides/_generated/.
_here = os.path.dirname(os.path.abspath(__file__))
_gen = os.path.join(_here, '_generated')
_bench_summary = os.path.join(_here, 'perf', 'bench-summary.csv')
_bench_info = os.path.join(_here, 'perf', 'bench-info.txt')
# the offloaded data path next to the in-process one (a run of its own)
_offload_summary = os.path.join(_here, 'perf', 'offload-summary.csv')


def _bench_table(summary=_bench_summary, table='bench-table.csv'):
    import csv
    cols = [('mode', 'mode'), ('test', 'test'), ('size', 'size'),
            ('variant', 'variant'), ('median_mpps', 'median'),
            ('min_mpps', 'min'), ('max_mpps', 'max'),
            ('median_near_mpps', 'near')]
    try:
        with open(summary, newline='', encoding='utf-8') as f:
            rows = list(csv.DictReader(f))
        ratio = [c for c in rows[0] if c.startswith('x_')]
        os.makedirs(_gen, exist_ok=True)
        with open(os.path.join(_gen, table), 'w', newline='',
                  encoding='utf-8') as f:
            w = csv.writer(f)
            w.writerow([h for _, h in cols] + ['x ' + c[2:] for c in ratio]
                       + ['runs', 'note'])
            for r in rows:
                runs = r['runs'] + (f"~{r['low_cpu_runs']}" if r.get('low_cpu_runs', '0') not in ('', '0') else '') \
                    + (f"!{r['far_cpu_runs']}" if r.get('far_cpu_runs', '0') not in ('', '0') else '')
                w.writerow([r[c] for c, _ in cols] + [r[c] for c in ratio]
                           + [runs, r.get('note', '')])
        return True
    except (OSError, IndexError, KeyError) as e:
        print(f'conf.py: no benchmark table ({e})', file=sys.stderr)
        # perf.rst includes the file whatever the tags: leave a stub
        os.makedirs(_gen, exist_ok=True)
        with open(os.path.join(_gen, table), 'w', encoding='utf-8') as f:
            f.write('note\nno figures\n')
        return False


def _bench_chart():
    import subprocess
    try:
        import matplotlib  # noqa: F401
        with open(_bench_info, encoding='utf-8') as f:
            subtitle = f.readline().strip()
        os.makedirs(_gen, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(_root, 'devtools', 'bench-plot.py'),
                        _bench_summary, os.path.join(_gen, 'bench.png'), subtitle],
                       check=True)
        return True
    except Exception as e:  # no matplotlib, no figures: no chart
        print(f'conf.py: no benchmark chart ({e})', file=sys.stderr)
        # a 1x1 stub, so that the image perf.rst names (shown only with the
        # bench_chart tag) exists
        import base64
        os.makedirs(_gen, exist_ok=True)
        with open(os.path.join(_gen, 'bench.png'), 'wb') as f:
            f.write(base64.b64decode(
                'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8'
                '/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=='))
        return False


if _bench_table():
    tags.add('bench_table')  # noqa: F821 (sphinx defines tags for conf.py)
_bench_table(_offload_summary, 'offload-table.csv')
if _bench_chart():
    tags.add('bench_chart')  # noqa: F821

html_theme = 'alabaster'
html_title = 'dpdk-vfio-user documentation'
html_show_sourcelink = False
