#!/usr/bin/env bash
# Builds the docsite into docs/sphinx/build/html: plugin and role pages from the collection, plus docs/docsite/rst.
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p rst
chmod og-w rst
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --use-current --dest-dir rst \
    mailoauth.sophos
cp index.rst rst/index.rst
sphinx-build -M html rst build -c . -W --keep-going -q
