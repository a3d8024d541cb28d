"""Package list for setuptools; the rest of the build configuration is in pyproject.toml.

``autoimb.search_spaces`` lives in the top-level ``search_spaces/`` folder (mapped by
``package-dir`` in pyproject.toml), which package discovery cannot find on its own.
"""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["autoimb*"]), "autoimb.search_spaces"])
