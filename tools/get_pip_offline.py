"""Stand-in for ansible-test's pip bootstrap script, for machines that reach the package index but not ansible-test's own file host.

ansible-test runs the cached ``get_pip_<version>.py`` with pip's install arguments (``pip==24.2`` and options).
This does the same with the interpreter's own ensurepip, then installs the requested pip from the package index.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
