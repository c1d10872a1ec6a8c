# Sphinx configuration for the mailoauth.sophos docsite (made with `antsibull-docs sphinx-init`, then trimmed).
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import os

project = 'mailoauth.sophos'
copyright = 'mailoauth.sophos contributors'
title = 'mailoauth.sophos documentation'
html_short_title = 'mailoauth.sophos'

extensions = ['sphinx.ext.autodoc', 'sphinx.ext.intersphinx', 'sphinx_antsibull_ext']
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'
html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = 'any'
nitpicky = True

if os.environ.get('DOCS_ONLINE'):
    intersphinx_mapping = {
        'python3': ('https://docs.python.org/3/', None),
        'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', None),
    }
else:
    # Without the network the labels of docs.ansible.com (common_return_values, action_plugins, ...) cannot be
    # resolved; every other warning still fails the build (-W).
    intersphinx_mapping = {}
    suppress_warnings = ['ref.ref']
