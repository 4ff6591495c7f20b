# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Sphinx configuration for the dpdk-vfio-user guides.
# Build with devtools/build-docs.sh (or: sphinx-build -W -b html doc/guides <out>).
# Only what Debian's python3-sphinx provides; the pictures are graphviz
# sources (img/*.dot) drawn by sphinx.ext.graphviz with Debian's graphviz.

import os
import re

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

html_theme = 'alabaster'
html_title = 'dpdk-vfio-user documentation'
html_show_sourcelink = False
